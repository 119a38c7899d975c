package main

import (
	"context"
	"errors"
	"io"
)

// cmdEval is a placeholder until eval.go lands; delete this file when adding it.
func cmdEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("'eval' is not implemented in this build")
}
