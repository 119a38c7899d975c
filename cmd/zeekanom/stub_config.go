package main

import (
	"context"
	"errors"
	"io"
)

// cmdConfig is a placeholder until config.go lands; delete this file when adding it.
func cmdConfig(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("'config' is not implemented in this build")
}
