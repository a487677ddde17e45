# digitlens — build, test, data and benchmark targets.
#
#   make                 build ./digitlens (objects under build/)
#   make test            install missing packages, build, run every test
#   make demo            install missing packages, build, get data, train, draw
#   make data            fill data/mnist/ (see scripts/get-mnist.sh)
#   make data-fashion    install Debian's Fashion-MNIST and link data/fashion
#   make bench           training/evaluation benchmarks
#   make torch-compare   digitlens against PyTorch on MNIST (bench/torch_compare.py)
#   make fuzz            libFuzzer harnesses, FUZZ_SECONDS=60 each (clang; ASan, and MSan for pictures)
#   make docs            manual pages and bash completion into build/doc (from the option tables)
#   make install         PREFIX=/usr/local DESTDIR= (binary, man pages, bash completion)
#   NATIVE=1             add -march=native (the binary then runs only on CPUs like
#                        this one; not needed for speed: the fast kernels pick their
#                        instruction set at run time, see include/digitlens/simd.h)
#   PORTABLE=1           accepted for older scripts: the default build is portable
#   KERNELS=generic      only the generic fast kernels (no AVX2/AVX-512 variants)
#   CC=clang             any C11 compiler

CC       ?= cc
PREFIX   ?= /usr/local
BUILD    ?= build
NATIVE   ?= 0
SAN      ?= 0
KERNELS  ?= all

# `make` alone builds on every core (a -j on the command line wins): built
# one file at a time it took 54 s on 2 cores, 26 s of it the three fast
# kernel variants, each one large unrolled file.  A make run by a recipe
# (MAKELEVEL > 0) takes its parent's job slots instead: while the makefile
# is read, GNU make 4.3 does not show it the -j it inherited, and a -j set
# here would print "resetting jobserver mode".
ifeq ($(MAKELEVEL)$(filter -j%,$(MAKEFLAGS)),0)
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 1)
endif

# The default build targets the baseline of the compiler's CPU (x86-64:
# SSE2) in every file; the AVX2 and AVX-512 kernels are compiled by target
# pragmas inside their own files (src/train_fast_avx2.c, _avx512.c) and
# chosen at run time, so one binary runs, at full speed, on any x86-64.
ifeq ($(NATIVE),1)
ARCH := -march=native
else
ARCH :=
endif

STB_CFLAGS := $(shell pkg-config --cflags stb 2>/dev/null || echo -I/usr/include/stb)

# GCC 12's interprocedural mod/ref analysis deleted live calls in the fast
# kernels at -O3 (calls that fill buffers read right after; found by the
# unit tests, two different ways); other projects met the same with GCC 12
# (liboqs turns it off too).  Off wherever the compiler has the option.
WORKAROUNDS := $(shell $(CC) -Werror -fno-ipa-modref -x c -c /dev/null -o /dev/null 2>/dev/null && echo -fno-ipa-modref)

OPT      ?= -O3 $(ARCH)
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS   ?= $(OPT) -g
# -ffp-contract=off: a*b + c stays two roundings unless the code asks for a
# fused multiply-add (GCC's default in ISO C mode, not Clang's), so both
# compilers build the same numbers: same seed, options and kernel variant,
# same bytes.
CFLAGS   += -std=c11 $(WARN) -fno-math-errno -ffp-contract=off $(WORKAROUNDS)
CPPFLAGS += -Iinclude $(STB_CFLAGS) -D_POSIX_C_SOURCE=200809L
LDLIBS   += -lstb -lgif -lz -lm -lpthread -ldl

ifeq ($(KERNELS),generic)
CPPFLAGS += -DDL_FAST_GENERIC_ONLY
endif

ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC  := $(wildcard src/*.c)
CLI_SRC  := $(wildcard src/cli/*.c)
TEST_SRC := $(wildcard tests/test_*.c) $(wildcard tests/support/*.c)
# The explorer page's style, markup and script, compiled in as text.
EXPLORE_JS     := src/explore_net.js src/explore_prep.js src/explore_ui.js
EXPLORE_ASSETS := src/explore.css src/explore_body.html $(EXPLORE_JS)
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/explore_assets.o
CLI_OBJ  := $(CLI_SRC:src/cli/%.c=$(BUILD)/obj/cli/%.o)
TEST_OBJ := $(TEST_SRC:tests/%.c=$(BUILD)/obj/tests/%.o)
# ONNX: Debian's schema (libonnx-dev) compiled by protoc-c at build time into
# $(BUILD)/gen; the generated code is protobuf-c's, not ours: never committed,
# and compiled without -Werror.  src/onnx*.c include its header.
ONNX_PROTO ?= /usr/include/onnx/onnx.proto
PROTOC_C   ?= protoc-c
GEN        := $(BUILD)/gen
GEN_OBJ    := $(BUILD)/obj/gen/onnx.pb-c.o
ONNX_OBJ   := $(filter $(BUILD)/obj/onnx%.o,$(LIB_OBJ))
LIB_OBJ    += $(GEN_OBJ)
LDLIBS     += -lprotobuf-c
LIB      := $(BUILD)/libdigitlens.a
BIN      := $(if $(filter build,$(BUILD)),digitlens,$(BUILD)/digitlens)
UNIT     := $(BUILD)/unit-tests

.PHONY: FORCE all test unit-tests demo data data-fashion deps bench torch-compare install uninstall clean fuzz fuzz-build docs
all: $(BIN)

# Objects depend on the flags that built them: another CC, CFLAGS, NATIVE,
# SAN or KERNELS rebuilds them (an object left by a -march=native build
# would otherwise live on in a portable one, and die under valgrind).  The
# stamp is rewritten only when the flags change.
FLAGS_NOW := $(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS)
$(BUILD)/flags.stamp: FORCE
	@mkdir -p $(BUILD)
	@if [ "$$(cat $@ 2>/dev/null)" != '$(FLAGS_NOW)' ]; then printf '%s\n' '$(FLAGS_NOW)' > $@; fi
FORCE:

# The kernel variants are the build's slowest files (13 s each at -O3 -g,
# most of it full debug information for their unrolled loops): line tables
# only (-g1) halve that and keep perf's and gdb's source lines.
$(BUILD)/obj/train_fast_avx512.o $(BUILD)/obj/train_fast_avx2.o $(BUILD)/obj/train_fast_generic.o: CFLAGS += -g1

$(BUILD)/obj/%.o: src/%.c $(BUILD)/flags.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/gen/explore_assets.c: $(EXPLORE_ASSETS) scripts/text2c.sh
	@mkdir -p $(dir $@)
	{ scripts/text2c.sh dl_explore_css src/explore.css && \
	  scripts/text2c.sh dl_explore_body src/explore_body.html && \
	  scripts/text2c.sh dl_explore_js $(EXPLORE_JS); } >$@.tmp && mv $@.tmp $@

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c $(BUILD)/flags.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/tests/%.o: tests/%.c $(BUILD)/flags.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) -Wno-missing-prototypes -MMD -MP -c $< -o $@

$(GEN)/%.pb-c.c $(GEN)/%.pb-c.h: $(dir $(ONNX_PROTO))%.proto
	@mkdir -p $(GEN)
	$(PROTOC_C) --proto_path=$(dir $<) --c_out=$(GEN) $<

$(GEN_OBJ): $(GEN)/onnx.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -I$(GEN) $(filter-out -Werror -Wmissing-prototypes,$(CFLAGS)) -c $< -o $@

$(ONNX_OBJ) $(BUILD)/mkseeds: CPPFLAGS += -I$(GEN)
$(ONNX_OBJ) $(BUILD)/mkseeds: $(GEN)/onnx.pb-c.h

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS)

$(UNIT): $(TEST_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(TEST_OBJ) $(LIB) $(LDLIBS) -lcriterion

# A small program the command-line tests make their IDX fixtures with.
$(BUILD)/mkfixture: tests/cli/mkfixture.c $(LIB)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# Looks inside snapshot files and GIFs for the command-line tests.
$(BUILD)/snaptool: tests/cli/snaptool.c $(LIB)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

unit-tests: $(UNIT) $(BIN) $(BUILD)/mkfixture $(BUILD)/snaptool

# --- fuzzing: libFuzzer harnesses in tests/fuzz/ (clang) ------------------------
#   make fuzz FUZZ_SECONDS=N   build them, write their seeds, run each N seconds
# The library is rebuilt under build/fuzz/lib with coverage instrumentation
# and ASan/UBSan; stb_image is compiled in from source (tests/fuzz/stb_impl.c,
# ASan only: its own arithmetic is not ours to change) so faults inside the
# decoder show where they happen.  Only the generic fast kernels are built
# there (KERNELS=generic): no harness reaches them, and the AVX variants
# take long to instrument.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR     := build/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# Every tests/fuzz/fuzz_NAME.c is a harness: a new loader's harness needs no
# edit here or in tests/fuzz/run.sh.
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_LIB     := $(FUZZ_DIR)/lib/libdigitlens.a
# Harnesses also built with MemorySanitizer, which sees reads of
# uninitialised memory that ASan cannot (a picture cut short, a palette
# index beyond the palette); run.sh runs them as NAME-msan.
FUZZ_MSAN    ?= image
FUZZ_MSAN_SAN := -fsanitize=memory -fsanitize-memory-track-origins -fno-omit-frame-pointer
FUZZ_MSAN_BINS := $(FUZZ_MSAN:%=$(FUZZ_DIR)/msan/fuzz_%)
FUZZ_MSAN_LIB := $(FUZZ_DIR)/msan/lib/libdigitlens.a

$(FUZZ_DIR)/stb_impl.o: tests/fuzz/stb_impl.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(STB_CFLAGS) -O1 -g -fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer -w -c $< -o $@

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB) $(FUZZ_DIR)/stb_impl.o
	$(FUZZ_CC) $(CPPFLAGS) -std=c11 $(WARN) -O1 -g -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< \
	  $(FUZZ_DIR)/stb_impl.o $(FUZZ_LIB) $(LDLIBS)

$(FUZZ_DIR)/msan/stb_impl.o: tests/fuzz/stb_impl.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(STB_CFLAGS) -O1 -g -fsanitize=fuzzer-no-link $(FUZZ_MSAN_SAN) -w -c $< -o $@

$(FUZZ_DIR)/msan/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_MSAN_LIB) $(FUZZ_DIR)/msan/stb_impl.o
	$(FUZZ_CC) $(CPPFLAGS) -std=c11 $(WARN) -O1 -g -fsanitize=fuzzer $(FUZZ_MSAN_SAN) -o $@ $< \
	  $(FUZZ_DIR)/msan/stb_impl.o $(FUZZ_MSAN_LIB) $(LDLIBS)

# Seeds come from a generator, never from committed binaries.
$(BUILD)/mkseeds: $(wildcard tests/fuzz/mkseeds*) $(LIB)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c,$^) $(LIB) $(LDLIBS)

fuzz-build: $(BUILD)/mkseeds
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_DIR)/lib CC=$(FUZZ_CC) SAN=1 KERNELS=generic \
	  OPT="-O1 -fsanitize=fuzzer-no-link" $(FUZZ_LIB)
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_DIR)/msan/lib CC=$(FUZZ_CC) SAN=0 \
	  OPT="-O1 -fsanitize=fuzzer-no-link $(FUZZ_MSAN_SAN)" $(FUZZ_MSAN_LIB)
	@$(MAKE) --no-print-directory $(FUZZ_BINS) $(FUZZ_MSAN_BINS)

fuzz: fuzz-build
	@tests/fuzz/run.sh $(FUZZ_SECONDS)

# The whole suite: unit tests (plain and sanitized), command-line tests, and
# one summary line at the end.
test:
	@scripts/deps.sh --ensure
	@scripts/run-tests.sh

demo:
	@scripts/deps.sh --ensure
	@$(MAKE) --no-print-directory all
	@scripts/get-mnist.sh data/mnist
	@scripts/demo.sh

data:
	@scripts/get-mnist.sh data/mnist

data-fashion:
	@scripts/get-fashion.sh data/fashion

deps:
	@scripts/deps.sh --install

# + : bench.sh's own makes share this make's job slots.
bench: all
	@scripts/deps.sh --ensure
	+@scripts/bench.sh

# Debian's python3-torch and python3-numpy live under /usr/bin/python3.
torch-compare: all
	@/usr/bin/python3 bench/torch_compare.py

# Manual pages and the bash completion, asked of the binary itself
# (scripts/gen-docs.sh), so they cannot disagree with --help.
DOC_DIR  := $(BUILD)/doc
MANDIR   ?= $(PREFIX)/share/man/man1
COMPDIR  ?= $(PREFIX)/share/bash-completion/completions

$(DOC_DIR)/.stamp: $(BIN) scripts/gen-docs.sh
	@scripts/gen-docs.sh ./$(BIN) $(DOC_DIR)
	@touch $@

docs: $(DOC_DIR)/.stamp

install: $(BIN) $(DOC_DIR)/.stamp
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR) $(DESTDIR)$(COMPDIR)
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/digitlens
	install -m 644 $(DOC_DIR)/man1/*.1 $(DESTDIR)$(MANDIR)/
	install -m 644 $(DOC_DIR)/digitlens.bash $(DESTDIR)$(COMPDIR)/digitlens

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/digitlens $(DESTDIR)$(MANDIR)/digitlens.1 $(DESTDIR)$(MANDIR)/digitlens-*.1
	rm -f $(DESTDIR)$(COMPDIR)/digitlens

clean:
	rm -rf build digitlens

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
