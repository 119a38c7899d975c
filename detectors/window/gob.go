package window

import (
	"bytes"
	"encoding/gob"
)

// GobLater returns the gob encoding of v, to run later (a Capture's
// encoding, on the checkpoint goroutine): v must be a copy that nothing
// changes meanwhile.
func GobLater(v any) func() ([]byte, error) {
	return func() ([]byte, error) {
		var b bytes.Buffer
		err := gob.NewEncoder(&b).Encode(v)
		return b.Bytes(), err
	}
}
