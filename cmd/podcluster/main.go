// Command podcluster is the one podcluster binary: the controllers and the user CLI.
package main

import (
	"fmt"
	"os"

	"github.com/podcluster/podcluster/cmd/podcluster/app"
)

func main() {
	if err := app.Run(os.Stdin, os.Stdout, os.Stderr, os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "ERROR: %v\n", err)
		os.Exit(1)
	}
}
