module github.com/gpubuf/gpubuf

go 1.26
