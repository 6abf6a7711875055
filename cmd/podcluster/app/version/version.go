// Package version is the `podcluster version` verb.
package version

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/podcluster/podcluster/cmd/podcluster/client/streams"
	"github.com/podcluster/podcluster/cmd/podcluster/client/version"
)

// NewCommand returns the version verb.
func NewCommand(s streams.IO) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the podcluster version",
		Example: "  podcluster version",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(s.Out, "podcluster %s %s/%s\n", version.Get(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
