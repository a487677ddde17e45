# digitlens — build, test, data and benchmark targets.
#
#   make                 build ./digitlens (objects under build/)
#   make test            install missing packages, build, run every test
#   make demo            install missing packages, build, get data, train, draw
#   make data            fill data/mnist/ (see scripts/get-mnist.sh)
#   make data-fashion    install Debian's Fashion-MNIST and link data/fashion
#   make bench           training/evaluation benchmarks
#   make install         PREFIX=/usr/local DESTDIR=
#   PORTABLE=1           build without -march=native
#   CC=clang             any C11 compiler

CC       ?= cc
PREFIX   ?= /usr/local
BUILD    ?= build
PORTABLE ?= 0
SAN      ?= 0

ifeq ($(PORTABLE),1)
ARCH :=
else
ARCH := -march=native
endif

STB_CFLAGS := $(shell pkg-config --cflags stb 2>/dev/null || echo -I/usr/include/stb)

OPT      ?= -O3 $(ARCH)
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS   ?= $(OPT) -g
CFLAGS   += -std=c11 $(WARN) -fno-math-errno
CPPFLAGS += -Iinclude $(STB_CFLAGS) -D_POSIX_C_SOURCE=200809L
LDLIBS   += -lstb -lz -lm -lpthread

ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC  := $(wildcard src/*.c)
CLI_SRC  := $(wildcard src/cli/*.c)
TEST_SRC := $(wildcard tests/test_*.c) $(wildcard tests/support/*.c)
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:src/cli/%.c=$(BUILD)/obj/cli/%.o)
TEST_OBJ := $(TEST_SRC:tests/%.c=$(BUILD)/obj/tests/%.o)
LIB      := $(BUILD)/libdigitlens.a
BIN      := $(if $(filter build,$(BUILD)),digitlens,$(BUILD)/digitlens)
UNIT     := $(BUILD)/unit-tests

.PHONY: all test unit-tests demo data data-fashion deps bench install uninstall clean fuzz
all: $(BIN)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) -Wno-missing-prototypes -MMD -MP -c $< -o $@

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

unit-tests: $(UNIT) $(BIN) $(BUILD)/mkfixture

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

bench: all
	@scripts/bench.sh

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/digitlens

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/digitlens

clean:
	rm -rf build digitlens

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
