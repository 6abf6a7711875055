// Package streams carries a command's standard streams.
package streams

import "io"

// IO are the standard input, output and error of a command.
type IO struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}
