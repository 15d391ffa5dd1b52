# Builds pio for a Raspberry Pi and for a PC: static (no cgo), stripped
# binaries in dist/. docs/build.md gives the same go build lines for a
# machine without make.
#
#   make          dist/pio-linux-armv6 (Pi Zero, Pi 1), dist/pio-linux-arm64
#                 (Pi 3, 4, 5 on a 64-bit OS) and dist/pio-linux-amd64, and
#                 dist/pios-linux-* beside them (the leader's pios)
#   make test     the test command of the README
#   make clean    removes dist/
#
# VERSION is stamped into the binaries (pio version); by default it is
# git describe's name of the commit. Override it with make VERSION=1.2.0.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
FLAGS := -trimpath -ldflags "-s -w -X main.Version=$(VERSION)"
# A Raspberry Pi's pio has no plots (pio simulate --plot): the plotting
# library's fonts would be a fifth of its size. --csv still works.
PI := -tags noplot
DIST := dist

PIOS := $(DIST)/pios-linux-armv6 $(DIST)/pios-linux-arm64 $(DIST)/pios-linux-amd64

.PHONY: all test clean $(DIST)/pio-linux-armv6 $(DIST)/pio-linux-arm64 $(DIST)/pio-linux-amd64 $(PIOS)

all: $(DIST)/pio-linux-armv6 $(DIST)/pio-linux-arm64 $(DIST)/pio-linux-amd64 $(PIOS)

# go build decides itself what is out of date, so each binary is always
# handed to it (the targets are phony).
$(DIST)/pio-linux-armv6:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=6 go build $(FLAGS) $(PI) -o $@ ./cmd/pio

$(DIST)/pio-linux-arm64:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build $(FLAGS) $(PI) -o $@ ./cmd/pio

$(DIST)/pio-linux-amd64:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build $(FLAGS) -o $@ ./cmd/pio

$(DIST)/pios-linux-armv6:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=6 go build $(FLAGS) -o $@ ./cmd/pios

$(DIST)/pios-linux-arm64:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build $(FLAGS) -o $@ ./cmd/pios

$(DIST)/pios-linux-amd64:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build $(FLAGS) -o $@ ./cmd/pios

test:
	go test ./...

clean:
	rm -rf $(DIST)
