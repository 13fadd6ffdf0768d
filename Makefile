# make install / uninstall [PREFIX=/usr/local] [DESTDIR=...]: see scripts/install-kit.
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: build install uninstall
build:
	scripts/build
install:
	scripts/install-kit install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)
uninstall:
	scripts/install-kit uninstall PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)
