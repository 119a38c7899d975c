package main

import (
	"context"
	"errors"
	"io"
)

// cmdTrain is a placeholder until train.go lands; delete this file when adding it.
func cmdTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("'train' is not implemented in this build")
}
