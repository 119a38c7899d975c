//go:build !linux

package main

// noHugePages does nothing where the detectors ask for no huge pages
// (window.HugePages is Linux's).
func noHugePages() error { return nil }

func hugePagesOff() (bool, error) { return true, nil }
