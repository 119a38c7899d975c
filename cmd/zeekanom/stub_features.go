package main

import (
	"context"
	"errors"
	"io"
)

// cmdFeatures is a placeholder until features.go lands; delete this file when adding it.
func cmdFeatures(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("'features' is not implemented in this build")
}
