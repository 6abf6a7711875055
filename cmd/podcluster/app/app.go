// Package cli is podcluster's command line: `podcluster <verb>`. Each verb is a
// small package with NewCommand; this package wires them under one root.
package app

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/podcluster/podcluster/cmd/podcluster/app/convert"
	"github.com/podcluster/podcluster/cmd/podcluster/app/describe"
	"github.com/podcluster/podcluster/cmd/podcluster/app/down"
	"github.com/podcluster/podcluster/cmd/podcluster/app/generate"
	"github.com/podcluster/podcluster/cmd/podcluster/app/get"
	"github.com/podcluster/podcluster/cmd/podcluster/app/initcmd"
	"github.com/podcluster/podcluster/cmd/podcluster/app/managercmd"
	"github.com/podcluster/podcluster/cmd/podcluster/app/up"
	"github.com/podcluster/podcluster/cmd/podcluster/app/version"
	"github.com/podcluster/podcluster/cmd/podcluster/client/streams"
)

// Run runs podcluster with the given arguments (without the program name).
func Run(in io.Reader, out, errOut io.Writer, args []string) error {
	s := streams.IO{In: in, Out: out, ErrOut: errOut}
	root := NewCommand(s)
	root.SetArgs(args)
	return root.Execute()
}

// NewCommand returns the root command with every verb.
func NewCommand(s streams.IO) *cobra.Command {
	root := &cobra.Command{
		Use:   "podcluster",
		Short: "Kubernetes clusters whose nodes are Pods, managed by Cluster API",
		Long: `podcluster creates, scales, heals, upgrades and deletes Kubernetes clusters with the
Cluster API (cluster.x-k8s.io v1beta2). Each Node of a new cluster is a Pod of a
cluster you already have.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.ErrOut)
	root.AddCommand(up.NewCommand(s), down.NewCommand(s), managercmd.NewCommand(s), initcmd.NewCommand(s), version.NewCommand(s),
		convert.NewCommand(s), generate.NewCommand(s), get.NewCommand(s), describe.NewCommand(s))
	// cobra's own completion verb, with examples like every other verb.
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Example = `  # Bash, for the current shell
  source <(podcluster completion bash)

  # Zsh, installed for every shell
  podcluster completion zsh > "${fpath[1]}/_podcluster"

  # Fish
  podcluster completion fish > ~/.config/fish/completions/podcluster.fish`
		}
	}
	return root
}
