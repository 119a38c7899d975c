package main

import (
	"context"
	"errors"
	"io"
)

// cmdScore is a placeholder until score.go lands; delete this file when adding it.
func cmdScore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("'score' is not implemented in this build")
}
