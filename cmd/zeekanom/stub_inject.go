package main

import (
	"context"
	"errors"
	"io"
)

// cmdInject is a placeholder until inject.go lands; delete this file when adding it.
func cmdInject(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("'inject' is not implemented in this build")
}
