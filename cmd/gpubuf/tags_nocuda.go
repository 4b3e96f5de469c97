//go:build !cuda

package main

func buildTags() []string { return nil }
