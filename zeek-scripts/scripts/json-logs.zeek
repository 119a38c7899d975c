##! Makes Zeek write every ASCII log as JSON lines instead of tab-separated
##! values. zeekanom reads both; JSON survives tools in between that mangle
##! tabs, and carries nested fields without the ASCII format's escaping.
##!
##! This script is not loaded by the package's ``__load__.zeek``: load it
##! yourself (``@load zeekanom/json-logs``) if you want it. It changes every
##! log of the Zeek node, not only what zeekanom reads.

@load base/frameworks/logging/writers/ascii

## Write JSON objects, one per line, instead of tab-separated values.
redef LogAscii::use_json = T;
