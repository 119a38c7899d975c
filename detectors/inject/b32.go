package inject

import "encoding/base32"

var b32 = base32.StdEncoding
