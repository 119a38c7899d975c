package main

import (
	"context"
	"errors"
	"io"
)

// cmdSetup is a placeholder until setup.go lands; delete this file when adding it.
func cmdSetup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("'setup' is not implemented in this build")
}
