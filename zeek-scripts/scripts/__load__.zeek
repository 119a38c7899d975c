##! zeekanom: the sidecar's anomaly notices inside Zeek's notice framework.
##!
##! main.zeek declares the notice types, the feed record and the options;
##! feed.zeek reads the feed file the sidecar writes and raises the notices.
##! json-logs.zeek is not loaded here: load it on its own if you want Zeek to
##! write JSON logs.

@load ./main
@load ./feed
