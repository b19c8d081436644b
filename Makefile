# vtpm-manager build.  `make` builds, `make check` installs dependencies and
# runs every test, `make run` starts a demo daemon, `make bench` benchmarks.
# Out-of-tree objects go to $(BUILD); SANITIZE=1 adds ASan+UBSan.

CC ?= cc
BUILD ?= build
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec/vtpm-manager
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
SYSTEMDUNITDIR ?= /lib/systemd/system
LOGGING_MODULES ?= 0xff

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wno-unused-parameter
# Messages are cut at their buffer size on purpose; truncation is not a bug.
WARN += -Wno-format-truncation
ifneq ($(findstring clang,$(shell $(CC) --version 2>/dev/null)),)
WARN += -Wno-unknown-warning-option
endif
CFLAGS ?= -O2 -g
override CFLAGS += -std=c11 -D_GNU_SOURCE -D_FORTIFY_SOURCE=2 $(WARN) -fstack-protector-strong \
	-fPIE -I. -DLOGGING_MODULES=$(LOGGING_MODULES) -DLIBEXECDIR='"$(LIBEXECDIR)"'
override LDFLAGS += -pie -Wl,-z,relro,-z,now
ifeq ($(SANITIZE),1)
override CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
override LDFLAGS += -fsanitize=address,undefined
override BUILD := $(BUILD)-san
endif

SSL_LIBS := -lcrypto
TSS_LIBS := -ltss2-esys -ltss2-mu -ltss2-rc -ltss2-tctildr
TPMS_LIBS := -ltpms
SECCOMP_LIBS := -lseccomp
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)

LIB_SRCS := $(wildcard util/*.c) $(wildcard crypto/*.c)
TCS_SRCS := $(wildcard tcs/*.c)
MGR_SRCS := $(filter-out manager/vtpmctl.c,$(wildcard manager/*.c))
CTL_SRCS := manager/vtpmctl.c
VTPMD_SRCS := $(wildcard vtpm/*.c)
UNIT_SRCS := $(wildcard tests/unit/check_*.c)
TOOL_SRCS := $(wildcard tests/tools/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIB := $(BUILD)/libvtpmcommon.a
MGR := $(BUILD)/vtpm_managerd
CTL := $(BUILD)/vtpmctl
VTPMD := $(BUILD)/vtpmd
UNIT := $(BUILD)/unit_tests
TOOLS := $(patsubst tests/tools/%.c,$(BUILD)/%,$(TOOL_SRCS))
BENCH := $(BUILD)/vtpm-bench

.SECONDARY:
.PHONY: all deps check unit integration run bench install clean fuzz

all: $(MGR) $(CTL) $(VTPMD) $(TOOLS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(call obj,$(LIB_SRCS))
	@rm -f $@
	ar rcs $@ $^

$(MGR): $(call obj,$(MGR_SRCS) $(TCS_SRCS)) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(TSS_LIBS) $(SSL_LIBS) -lpthread

$(CTL): $(call obj,$(CTL_SRCS)) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(SSL_LIBS)

$(VTPMD): $(call obj,$(VTPMD_SRCS)) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(TPMS_LIBS) $(SSL_LIBS)

$(BUILD)/%: $(BUILD)/obj/tests/tools/%.o $(call obj,tests/lib/tpmclient.c) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(SSL_LIBS) -lpthread

$(BENCH): $(call obj,tests/bench/vtpm-bench.c tests/lib/tpmclient.c) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(SSL_LIBS) -lpthread -lm

$(BUILD)/obj/tests/unit/%.o: override CFLAGS += $(CHECK_CFLAGS)
$(UNIT): $(call obj,$(UNIT_SRCS)) $(call obj,$(filter-out manager/main.c,$(MGR_SRCS)) $(TCS_SRCS)) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(TSS_LIBS) $(SSL_LIBS) -lpthread

deps:
	@./scripts/install-deps.sh

unit: $(UNIT)
	$(UNIT)

integration: all
	BUILD=$(abspath $(BUILD)) ./tests/integration/run.sh

check: deps
	$(MAKE) all $(UNIT)
	$(MAKE) unit
	$(MAKE) integration

run: deps
	$(MAKE) all
	BUILD=$(abspath $(BUILD)) ./scripts/run-demo.sh

bench: deps
	$(MAKE) all $(BENCH)
	BUILD=$(abspath $(BUILD)) ./tests/bench/run-bench.sh

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(SYSCONFDIR)/vtpm-manager
	install -m 0755 $(MGR) $(DESTDIR)$(SBINDIR)/vtpm_managerd
	install -m 0755 $(CTL) $(DESTDIR)$(SBINDIR)/vtpmctl
	install -m 0755 $(VTPMD) $(DESTDIR)$(LIBEXECDIR)/vtpmd
	install -m 0644 docs/man/vtpm_managerd.8 docs/man/vtpmctl.8 docs/man/vtpmd.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 docs/man/vtpm_managerd.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 scripts/vtpm_managerd.conf.example $(DESTDIR)$(SYSCONFDIR)/vtpm-manager/vtpm_managerd.conf.example
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSCONFDIR)/init.d
	sed 's|@SBINDIR@|$(SBINDIR)|g' scripts/vtpm_managerd.service >$(DESTDIR)$(SYSTEMDUNITDIR)/vtpm_managerd.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/vtpm_managerd.service
	sed 's|@SBINDIR@|$(SBINDIR)|g' scripts/vtpm_managerd.init >$(DESTDIR)$(SYSCONFDIR)/init.d/vtpm_managerd
	chmod 0755 $(DESTDIR)$(SYSCONFDIR)/init.d/vtpm_managerd

clean:
	rm -rf $(BUILD) $(BUILD)-san

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
