// Package down is the `podcluster down` verb.
package down

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/podcluster/podcluster/cmd/podcluster/client/streams"
	"github.com/podcluster/podcluster/cmd/podcluster/client/localplane"
)

type options struct {
	stateDir string
	purge    bool
}

// NewCommand returns the down verb.
func NewCommand(s streams.IO) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop the local management plane started by 'podcluster up'",
		Example: `  # Stop the plane and keep its state for the next 'podcluster up'
  podcluster down

  # Stop it and delete its state
  podcluster down --purge`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			running, err := localplane.StopRunning(o.stateDir, 2*time.Minute)
			if err != nil {
				return err
			}
			if running {
				fmt.Fprintf(s.ErrOut, "Stopped the management plane of %s\n", o.stateDir)
			} else {
				fmt.Fprintf(s.ErrOut, "No management plane is running for %s\n", o.stateDir)
			}
			if o.purge {
				if err := os.RemoveAll(o.stateDir); err != nil {
					return fmt.Errorf("removing %s: %w", o.stateDir, err)
				}
				fmt.Fprintf(s.ErrOut, "Removed %s\n", o.stateDir)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.stateDir, "state-dir", localplane.DefaultStateDir(), "the state folder 'podcluster up' used")
	cmd.Flags().BoolVar(&o.purge, "purge", false, "also delete the state folder")
	return cmd
}
