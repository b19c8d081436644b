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
# Xen PV backend: the real libxen* interfaces only when libxen-dev is there
# (manager/xen_if_real.c); the backend logic is always built and tested.
XEN_HDRS := $(and $(wildcard /usr/include/xenstore.h),$(wildcard /usr/include/xengnttab.h),$(wildcard /usr/include/xenevtchn.h))
ifneq ($(XEN_HDRS),)
XEN_CFLAGS := -DVTPM_XEN=1
XEN_LIBS := -lxenstore -lxengnttab -lxenevtchn
endif
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)

LIB_SRCS := $(wildcard util/*.c) $(wildcard crypto/*.c)
TCS_SRCS := $(wildcard tcs/*.c)
MGR_SRCS := $(wildcard manager/*.c)
CTL_SRCS := $(wildcard vtpmctl/*.c)
VTPMD_SRCS := $(wildcard vtpm/*.c)
UNIT_SRCS := $(wildcard tests/unit/check_*.c)
XEN_TEST_SRCS := $(wildcard tests/xen/*.c)
TOOL_SRCS := $(wildcard tests/tools/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIB := $(BUILD)/libvtpmcommon.a
MGR := $(BUILD)/vtpm_managerd
CTL := $(BUILD)/vtpmctl
VTPMD := $(BUILD)/vtpmd
UNIT := $(BUILD)/unit_tests
TOOLS := $(patsubst tests/tools/%.c,$(BUILD)/%,$(TOOL_SRCS))
BENCH := $(BUILD)/vtpm-bench
XEN_TESTS := $(BUILD)/xen_tests

.SECONDARY:
.PHONY: all deps check unit integration run bench install clean fuzz mutation

all: $(MGR) $(CTL) $(VTPMD) $(TOOLS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(call obj,$(LIB_SRCS))
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/obj/manager/xen_if_real.o: override CFLAGS += $(XEN_CFLAGS)
$(MGR): $(call obj,$(MGR_SRCS) $(TCS_SRCS)) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(TSS_LIBS) $(SSL_LIBS) $(XEN_LIBS) -lpthread

$(CTL): $(call obj,$(CTL_SRCS)) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(SSL_LIBS)

$(VTPMD): $(call obj,$(VTPMD_SRCS)) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(TPMS_LIBS) $(SECCOMP_LIBS) $(SSL_LIBS)

$(BUILD)/%: $(BUILD)/obj/tests/tools/%.o $(call obj,tests/lib/tpmclient.c) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(SSL_LIBS) -lpthread

$(BENCH): $(call obj,tests/bench/vtpm-bench.c tests/lib/tpmclient.c) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(SSL_LIBS) -lpthread -lm

$(BUILD)/obj/tests/unit/%.o: override CFLAGS += $(CHECK_CFLAGS)
$(UNIT): $(call obj,$(UNIT_SRCS)) $(call obj,$(filter-out manager/main.c,$(MGR_SRCS)) $(TCS_SRCS)) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(TSS_LIBS) $(SSL_LIBS) $(XEN_LIBS) -lpthread

# The Xen backend against the in-process stand-in (no hypervisor needed).
$(BUILD)/obj/tests/xen/%.o: override CFLAGS += $(CHECK_CFLAGS)
$(XEN_TESTS): $(call obj,$(XEN_TEST_SRCS) manager/xen_backend.c manager/xen_bus.c manager/xen_ring.c manager/xen_msg.c manager/loop.c) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(SSL_LIBS) -lpthread

deps:
	@./scripts/install-deps.sh

unit: $(UNIT) $(XEN_TESTS)
	$(UNIT)
	$(XEN_TESTS)

integration: all
	BUILD=$(abspath $(BUILD)) ./tests/integration/run.sh

check: deps
	$(MAKE) all $(UNIT) $(XEN_TESTS)
	$(MAKE) unit
	$(MAKE) integration

# Deliberate bugs (tests/mutation/*.patch), each of which the tests it names
# must catch; fails when one survives.  See docs/TESTING.md.
mutation: deps
	$(MAKE) all $(UNIT) $(XEN_TESTS)
	BUILD=$(abspath $(BUILD)) ./tests/mutation/run.sh

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
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && ! getent passwd vtpm >/dev/null; then \
		useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin vtpm; \
		echo "created system user vtpm (vtpmd runs as it)"; fi

clean:
	rm -rf $(BUILD) $(BUILD)-san

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- fuzzing (issue 5) ----------------------------------------------------
# libFuzzer targets in tests/fuzz/fuzz_<name>.c, built with clang and
# ASan+UBSan into $(FUZZ_BUILD).  `make fuzz` builds them and runs each for
# FUZZ_SECONDS (tests/fuzz/run-fuzz.sh prints executions, coverage and
# crashes per target, and fails on any crash).  Targets that drive daemon
# code link real objects and fake only fork/the vtpmd end of the channel
# (-Wl,--wrap, see tests/fuzz/mgr_fixture.h), never product sources.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD ?= $(BUILD)-fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -O1 -g -std=c11 -D_GNU_SOURCE $(WARN) -Wno-unknown-warning-option -I. \
	-DLOGGING_MODULES=$(LOGGING_MODULES) -DLIBEXECDIR='"$(LIBEXECDIR)"' \
	$(FUZZ_SAN) -fsanitize=fuzzer-no-link
fobj = $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(1))
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(addprefix $(FUZZ_BUILD)/fuzz_,$(FUZZ_NAMES))
FUZZ_COMMON := $(call fobj,tests/fuzz/common.c $(LIB_SRCS))
# Targets that run the manager's modules (mgr_fixture.c) or vtpmd's.
FUZZ_MGR_NAMES := fifo chan ctl ctrl_sock
FUZZ_VTPMD_NAMES := vtpmd_chan
FUZZ_STORE_NAMES := blob manifest
# Parsers of what a private vtpmd returns at manufacture (tpm2-tss unmarshalling).
FUZZ_MF_NAMES := mf_resp
FUZZ_MF_OBJS := $(call fobj,manager/manufacture.c manager/vdrive.c)
# Targets for the host TPM's sealed formats: pure tcs/ files, no TPM.
FUZZ_SEALED_NAMES := tpm2_sealed master_sealed
FUZZ_SEALED_OBJS := $(call fobj,tcs/tpm2_sealed.c tcs/master_sealed.c tcs/tpm12_marshal.c)
FUZZ_SEALED_LDLIBS := -ltss2-mu -ltss2-rc $(SSL_LIBS)
FUZZ_MGR_OBJS := $(call fobj,tests/fuzz/mgr_fixture.c $(filter-out manager/main.c,$(MGR_SRCS)) $(TCS_SRCS))
FUZZ_VTPMD_OBJS := $(call fobj,vtpm/adopt.c vtpm/chanio.c vtpm/ctrl.c vtpm/nvram.c vtpm/tpm.c vtpm/tpmlog.c)
FUZZ_MGR_LDLIBS := -Wl,--wrap=fork,--wrap=chan_socketpair,--wrap=log_msg $(TSS_LIBS) $(SSL_LIBS) -lpthread
FUZZ_VTPMD_LDLIBS := -Wl,--wrap=_exit,--wrap=tpm_power_on,--wrap=TPMLIB_RegisterCallbacks,--wrap=log_msg \
	$(TPMS_LIBS) $(SSL_LIBS)

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(foreach n,$(FUZZ_MGR_NAMES),$(eval $(FUZZ_BUILD)/fuzz_$(n): $(FUZZ_MGR_OBJS))\
	$(eval $(FUZZ_BUILD)/fuzz_$(n): FUZZ_LDLIBS := $(FUZZ_MGR_LDLIBS)))
$(foreach n,$(FUZZ_VTPMD_NAMES),$(eval $(FUZZ_BUILD)/fuzz_$(n): $(FUZZ_VTPMD_OBJS))\
	$(eval $(FUZZ_BUILD)/fuzz_$(n): FUZZ_LDLIBS := $(FUZZ_VTPMD_LDLIBS)))
$(foreach n,$(FUZZ_STORE_NAMES),$(eval $(FUZZ_BUILD)/fuzz_$(n): $(call fobj,manager/store.c)))
$(foreach n,$(FUZZ_MF_NAMES),$(eval $(FUZZ_BUILD)/fuzz_$(n): $(FUZZ_MF_OBJS))\
	$(eval $(FUZZ_BUILD)/fuzz_$(n): FUZZ_LDLIBS := -ltss2-mu $(SSL_LIBS)))
$(foreach n,$(FUZZ_SEALED_NAMES),$(eval $(FUZZ_BUILD)/fuzz_$(n): $(FUZZ_SEALED_OBJS))\
	$(eval $(FUZZ_BUILD)/fuzz_$(n): FUZZ_LDLIBS := $(FUZZ_SEALED_LDLIBS)))
$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o $(FUZZ_COMMON)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $(filter %.o,$^) \
		$(if $(FUZZ_LDLIBS),$(FUZZ_LDLIBS),$(SSL_LIBS))

.PHONY: fuzz-build
fuzz-build: $(FUZZ_BINS)

fuzz:
	BUILD=$(BUILD) FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_CC=$(FUZZ_CC) ./tests/fuzz/run-fuzz.sh $(FUZZ_SECONDS)

-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
