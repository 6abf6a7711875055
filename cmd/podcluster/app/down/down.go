// Package down is the `podcluster down` verb.
package down

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/podcluster/podcluster/cmd/podcluster/client/localplane"
	"github.com/podcluster/podcluster/cmd/podcluster/client/streams"
)

// stopTimeout bounds the wait for `podcluster up` to stop its providers, the
// simulated runtime and the plane.
const stopTimeout = 2 * time.Minute

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
		Long: `down sends SIGTERM to the 'podcluster up' of the state folder and waits until it has
stopped everything it started. It signals only a process that really is that
'podcluster up'; a stale up.pid (the process is gone, or its PID now belongs to
another program) is reported and removed, and whatever a plane that was killed
left running is killed.`,
		Example: `  # Stop the plane and keep its state for the next 'podcluster up'
  podcluster down

  # Stop it and delete its state
  podcluster down --purge`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return o.run(s) },
	}
	cmd.Flags().StringVar(&o.stateDir, "state-dir", localplane.DefaultStateDir(), "the state folder 'podcluster up' used")
	cmd.Flags().BoolVar(&o.purge, "purge", false, "also delete the state folder")
	return cmd
}

func (o *options) run(s streams.IO) error {
	owner, err := localplane.StopRunning(o.stateDir, stopTimeout)
	if err != nil {
		return err
	}
	switch {
	case owner.Running:
		fmt.Fprintf(s.ErrOut, "Stopped the management plane of %s (pid %d)\n", o.stateDir, owner.PID)
	case owner.Why != "":
		if _, err := localplane.RemoveStale(o.stateDir); err != nil {
			return fmt.Errorf("removing the stale up.pid of %s: %w", o.stateDir, err)
		}
		fmt.Fprintf(s.ErrOut, "Removed the stale up.pid of %s: %s\n", o.stateDir, owner.Why)
	default:
		fmt.Fprintf(s.ErrOut, "No management plane is running for %s\n", o.stateDir)
	}
	// A plane that was killed may have left processes behind; one that
	// stopped cleanly left nothing, and this finds nothing.
	if _, err := os.Stat(o.stateDir); err == nil {
		killed, err := localplane.EndLeftovers(o.stateDir, 30*time.Second)
		if err != nil {
			return err
		}
		if killed != "" {
			fmt.Fprintf(s.ErrOut, "Killed what a stopped plane left running: %s\n", killed)
		}
	}
	if o.purge {
		if err := os.RemoveAll(o.stateDir); err != nil {
			return fmt.Errorf("removing %s: %w", o.stateDir, err)
		}
		fmt.Fprintf(s.ErrOut, "Removed %s\n", o.stateDir)
	}
	return nil
}
