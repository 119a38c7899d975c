module github.com/zeekanom/zeekanom

go 1.26.8

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/fsnotify/fsnotify v1.10.1
	github.com/klauspost/compress v1.20.4
	golang.org/x/net v0.62.0
)

require golang.org/x/sys v0.49.0 // indirect
