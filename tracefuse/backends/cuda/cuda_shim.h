// cuda_shim.h: compile the CUDA C that tracefuse's GPU renderer emits as ordinary C++ (g++),
// and run its kernels on the CPU. Owned by tracefuse/backends/cuda_sim.py (the "gpu-sim" tier),
// which passes this file with `-include` ahead of the generated source and appends one
// `tx_launch_<kernel>` wrapper per kernel that calls `tx_sim::run_grid`.
//
// What it provides (the dialect of tracefuse's renderer; see cuda_sim.py):
//   - `__global__ __device__ __host__ __forceinline__ __noinline__ __launch_bounds__(...)`
//     defined away; `__shared__` (and `__constant__`) as `static`, i.e. per-block storage
//     because blocks run one after another. Dynamic shared memory (`extern __shared__`) is not
//     supported. At the start of every block, __shared__ variables are filled with 0xff bytes
//     (NaN for floats, -1 for integers): reading shared memory that no thread of the block wrote
//     gives garbage, as on a GPU, not zeros or the previous block's values. (Except __shared__
//     variables inside function *templates*: GCC ignores section attributes there.)
//   - `threadIdx blockIdx blockDim gridDim` (1-D: .y and .z of the indices are 0, of the
//     dimensions 1) and `warpSize` (32).
//   - `__syncthreads()`, `__syncwarp(mask)`, warp shuffles `__shfl_sync/_up_/_down_/_xor_sync`
//     for any trivially copyable T of at most 8 bytes, full-warp mask (0xffffffff) only, with
//     the optional `width`; `__threadfence*()` as no-ops; `__trap()` and `assert` as errors.
//   - atomics (atomicAdd/Sub/Max/Min/Exch/CAS/And/Or/Xor): plain read-modify-writes. They are
//     atomic here because the simulator is single-OS-threaded and a CUDA thread is only ever
//     switched out at a barrier or shuffle, never in the middle of an expression.
//   - bit casts (`__int_as_float` ...), integer intrinsics (`__popc __clz __ffs __brev
//     __mulhi ...`), overloaded device `min`/`max`, and the math of <math.h>. The fast-math
//     intrinsics (`__expf __sinf __fdividef ...`) map to the accurate functions, so the
//     simulator is *more* accurate than a GPU for them.
//
// How kernels run: blocks one after another (blockIdx.x = 0..grid-1); inside a block one fiber
// per CUDA thread (its own stack; switched by a few lines of x86-64 assembly, elsewhere and under
// ASan by ucontext's swapcontext), scheduled round-robin in the calling OS thread. `__syncthreads()` parks a fiber until every thread of the block has arrived; a shuffle
// deposits the lane's value, parks until all 32 lanes of the warp have deposited, then reads.
// Misuse that would hang or be undefined on a GPU is reported instead: a barrier some threads
// never reach (they exited), threads of a block at different `__syncthreads()` lines, a shuffle
// with lanes missing, a partial mask. `run_grid` then returns nonzero with the message in `err`.
// Only one launch runs at a time per loaded library (Python holds a lock; a second concurrent
// launch is refused here too).
//
// Under -fsanitize=address the fiber switches are annotated (__sanitizer_start_switch_fiber /
// __sanitizer_finish_switch_fiber) so ASan knows which stack is live.
#pragma once

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <type_traits>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
// __shared__ variables go to one section, so that the scheduler can poison them (see run_block).
#define __shared__ static __attribute__((section("tx_shared")))
extern "C" char __start_tx_shared[] __attribute__((weak, visibility("hidden")));
extern "C" char __stop_tx_shared[] __attribute__((weak, visibility("hidden")));
#define __constant__ static

struct uint3 { unsigned int x, y, z; };
struct dim3 { unsigned int x, y, z; };

// Set by the scheduler before every switch into a fiber.
static uint3 threadIdx = {0, 0, 0};
static uint3 blockIdx = {0, 0, 0};
static dim3 blockDim = {1, 1, 1};
static dim3 gridDim = {1, 1, 1};
static const int warpSize = 32;

#if defined(__SANITIZE_ADDRESS__)
extern "C" {
void __sanitizer_start_switch_fiber(void** fake_stack_save, const void* bottom, size_t size);
void __sanitizer_finish_switch_fiber(void* fake_stack_save, const void** bottom_old,
                                     size_t* size_old);
void __asan_unpoison_memory_region(void const volatile* addr, size_t size);
}
#define TX_SIM_ASAN 1
#else
#define TX_SIM_ASAN 0
#endif

// Fiber switches: on x86-64 a dozen instructions of our own (callee-saved registers, MXCSR and
// the x87 control word; no signal-mask system call), about 10x faster than swapcontext, which
// stays the portable path and the one under ASan (whose swapcontext interceptor keeps the
// shadow of reused stacks clean). Such a switch cannot run under a CET shadow stack: cuda_sim.py
// builds x86-64 libraries with -fcf-protection=none, so a process enforcing one refuses to load
// them rather than crash.
#if defined(__x86_64__) && !TX_SIM_ASAN && !defined(TX_SIM_UCONTEXT)
#define TX_SIM_FAST_SWITCH 1
extern "C" void tx_sim_switch(void** save_sp, void* load_sp);
__asm__(
    ".text\n"
    ".p2align 4\n"
    ".globl tx_sim_switch\n"
    ".hidden tx_sim_switch\n"
    ".type tx_sim_switch,@function\n"
    "tx_sim_switch:\n"
    "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
    "  subq $8, %rsp\n  stmxcsr (%rsp)\n  fnstcw 4(%rsp)\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  ldmxcsr (%rsp)\n  fldcw 4(%rsp)\n  addq $8, %rsp\n"
    "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
    "  ret\n"
    ".size tx_sim_switch,.-tx_sim_switch\n");
#else
#define TX_SIM_FAST_SWITCH 0
#endif

namespace tx_sim {

enum State : unsigned char { READY, AT_BLOCK, AT_WARP, DONE };
enum WarpOp : unsigned char { OP_NONE, OP_SHFL, OP_SYNCWARP };

struct Fiber {
#if TX_SIM_FAST_SWITCH
    void* sp;
#else
    ucontext_t ctx;
#endif
    void* fake_stack;
    unsigned wait_gen;
    State state;
};

struct Warp {
    uint64_t slot[2][32];  // shuffle values, double-buffered by generation parity
    unsigned arrived, gen;
    int line;
    WarpOp op;
};

static const size_t kStack = TX_SIM_ASAN ? 256 * 1024 : 64 * 1024;
static const size_t kGuard = 4096;
static const unsigned kMaxBlock = 1024;

struct Launch {
    const char* kernel;
    void (*body)(void**);
    void** args;
    unsigned block, current, done;
    unsigned bar_arrived, bar_gen;
    int bar_line;
    int failed;
    char msg[1024];
#if TX_SIM_FAST_SWITCH
    void* sched_sp;
    uint32_t fp_control[2];  // MXCSR and x87 control word a new fiber starts with
#else
    ucontext_t sched;
#endif
    void* sched_fake;
    const void* sched_bottom;
    size_t sched_size;
};

static Launch L;
static Fiber* g_fibers = nullptr;    // kMaxBlock of them, allocated on first launch
static char* g_stacks = nullptr;     // capacity slots of (guard page + kStack)
static unsigned g_capacity = 0;      // fibers with a stack so far; grows to the largest block
static Warp g_warps[kMaxBlock / 32];
static int g_busy = 0;

static inline char* stack_of(unsigned t) {
    return g_stacks + (size_t)t * (kGuard + kStack) + kGuard;
}

// ---- switching --------------------------------------------------------------------------------

static void switch_to_scheduler(Fiber& f, bool dying) {
#if TX_SIM_ASAN
    __sanitizer_start_switch_fiber(dying ? nullptr : &f.fake_stack, L.sched_bottom, L.sched_size);
#else
    (void)dying;
#endif
#if TX_SIM_FAST_SWITCH
    tx_sim_switch(&f.sp, L.sched_sp);
#else
    swapcontext(&f.ctx, &L.sched);
#endif
#if TX_SIM_ASAN
    __sanitizer_finish_switch_fiber(f.fake_stack, &L.sched_bottom, &L.sched_size);
#endif
    __asm__ __volatile__("" ::: "memory");
}

static inline void yield() { switch_to_scheduler(g_fibers[L.current], false); }

// Stop the launch with a message; the calling fiber is abandoned and never resumed.
[[noreturn]] __attribute__((format(printf, 1, 2))) static void fail(const char* fmt, ...) {
    if (!L.failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(L.msg, sizeof L.msg, fmt, ap);
        va_end(ap);
        L.failed = 1;
    }
    switch_to_scheduler(g_fibers[L.current], false);
    abort();  // unreachable: a failed launch never resumes its fibers
}

static void fiber_main() {
#if TX_SIM_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &L.sched_bottom, &L.sched_size);
#endif
    L.body(L.args);
    Fiber& f = g_fibers[L.current];
    f.state = DONE;
    L.done++;
    switch_to_scheduler(f, true);
    abort();  // unreachable
}

// ---- barriers ---------------------------------------------------------------------------------

static void syncthreads(int line) {
    if (L.bar_arrived == 0) {
        L.bar_line = line;
    } else if (line != L.bar_line) {
        fail("divergent __syncthreads in kernel %s, block %u: thread %u waits at line %d while "
             "%u other thread(s) wait at line %d", L.kernel, blockIdx.x, threadIdx.x, line,
             L.bar_arrived, L.bar_line);
    }
    if (++L.bar_arrived == L.block) {  // the last one releases the others and goes on
        L.bar_arrived = 0;
        L.bar_gen++;
        return;
    }
    Fiber& f = g_fibers[L.current];
    f.state = AT_BLOCK;
    f.wait_gen = L.bar_gen;
    yield();
}

static const char* op_name(WarpOp op) { return op == OP_SHFL ? "a warp shuffle" : "__syncwarp"; }

static void check_mask(unsigned mask, const char* what, int line) {
    if (mask != 0xffffffffu)
        fail("%s with mask 0x%08x at line %d in kernel %s, block %u, thread %u: the simulator "
             "supports only the full-warp mask 0xffffffff", what, mask, line, L.kernel,
             blockIdx.x, threadIdx.x);
}

// Wait until all 32 lanes of this thread's warp have arrived at a warp operation.
static void warp_arrive(Warp& w, WarpOp op, int line) {
    if (w.arrived == 0) {
        w.op = op;
        w.line = line;
    } else if (w.op != op) {
        fail("warp %u of block %u in kernel %s: lane %u is at %s (line %d) while %u lane(s) are "
             "at %s (line %d)", threadIdx.x / 32, blockIdx.x, L.kernel, threadIdx.x % 32,
             op_name(op), line, w.arrived, op_name(w.op), w.line);
    }
    if (++w.arrived == 32) {
        w.arrived = 0;
        w.gen++;
        return;
    }
    Fiber& f = g_fibers[L.current];
    f.state = AT_WARP;
    f.wait_gen = w.gen;
    yield();
}

enum ShflKind { SHFL_IDX, SHFL_UP, SHFL_DOWN, SHFL_XOR };

template <class T>
static T shfl(unsigned mask, T v, ShflKind kind, int arg, int width, int line) {
    static_assert(std::is_trivially_copyable<T>::value && sizeof(T) <= 8,
                  "warp shuffles move trivially copyable values of at most 8 bytes");
    check_mask(mask, "warp shuffle", line);
    if (width <= 0 || width > 32 || (width & (width - 1)))
        fail("warp shuffle with width %d at line %d in kernel %s: width must be a power of two "
             "in 1..32", width, line, L.kernel);
    const unsigned lane = threadIdx.x % 32;
    Warp& w = g_warps[threadIdx.x / 32];
    const unsigned buf = w.gen & 1;
    uint64_t bits = 0;
    memcpy(&bits, &v, sizeof(T));
    w.slot[buf][lane] = bits;
    warp_arrive(w, OP_SHFL, line);
    const unsigned base = lane & ~(unsigned)(width - 1), sub = lane - base;
    unsigned src = lane;
    switch (kind) {
        case SHFL_IDX: src = base + ((unsigned)arg & (unsigned)(width - 1)); break;
        case SHFL_UP: src = sub >= (unsigned)arg ? lane - (unsigned)arg : lane; break;
        case SHFL_DOWN:
            src = sub + (unsigned)arg < (unsigned)width ? lane + (unsigned)arg : lane;
            break;
        case SHFL_XOR: {
            unsigned j = lane ^ (unsigned)arg;
            src = j < base + (unsigned)width ? j : lane;  // outside the segment: own value
            break;
        }
    }
    T r;
    bits = w.slot[buf][src & 31];
    memcpy(&r, &bits, sizeof(T));
    return r;
}

static void syncwarp(unsigned mask, int line) {
    check_mask(mask, "__syncwarp", line);
    warp_arrive(g_warps[threadIdx.x / 32], OP_SYNCWARP, line);
}

// ---- the scheduler ----------------------------------------------------------------------------

static int fail_outside(char* err, int errlen, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_outside(char* err, int errlen, const char* fmt, ...) {
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, (size_t)errlen, fmt, ap);
        va_end(ap);
    }
    return 1;
}

// Give the stacks back after each launch: a process loads thousands of kernel libraries (a test
// suite does), and stacks kept per library would pin memory and, with a guard page each, exhaust
// the kernel's limit on memory mappings (vm.max_map_count, 65530: seen as MemoryError).
static void release() {
    if (g_stacks) munmap(g_stacks, (size_t)kMaxBlock * (kGuard + kStack));
    g_stacks = nullptr;
    g_capacity = 0;
}

static bool reserve(unsigned block) {
    if (!g_fibers) {
        g_fibers = (Fiber*)calloc(kMaxBlock, sizeof(Fiber));
        if (!g_fibers) return false;
    }
    if (block <= g_capacity) return true;
    // One region for all stacks, sized for the largest block possible but only touched (and
    // protected) as far as needed; a guard page below each stack turns an overflow into SIGSEGV.
    if (!g_stacks) {
        void* p = mmap(nullptr, (size_t)kMaxBlock * (kGuard + kStack), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) return false;
        g_stacks = (char*)p;
    }
    for (unsigned t = g_capacity; t < block; t++) {
        mprotect(stack_of(t) - kGuard, kGuard, PROT_NONE);
#if !TX_SIM_FAST_SWITCH
        getcontext(&g_fibers[t].ctx);  // once: makecontext below re-arms it for every block
#endif
    }
    g_capacity = block;
    return true;
}

static void describe_deadlock(unsigned block) {
    unsigned at_block = 0, at_warp = 0;
    int warp = -1;
    for (unsigned t = 0; t < block; t++) {
        if (g_fibers[t].state == AT_BLOCK) at_block++;
        if (g_fibers[t].state == AT_WARP) {
            at_warp++;
            if (warp < 0) warp = (int)(t / 32);
        }
    }
    const unsigned exited = L.done;
    if (at_warp == 0) {
        snprintf(L.msg, sizeof L.msg,
                 "divergent __syncthreads in kernel %s, block %u: %u of %u threads arrived "
                 "(line %d), %u exited", L.kernel, blockIdx.x, at_block, block, L.bar_line, exited);
    } else if (at_block == 0) {
        const Warp& w = g_warps[warp];
        const unsigned lanes = block - (unsigned)warp * 32 < 32 ? block - (unsigned)warp * 32 : 32;
        snprintf(L.msg, sizeof L.msg,
                 "%s with lanes missing in kernel %s, block %u, warp %d: %u of 32 lanes arrived "
                 "(line %d), %u exited%s", op_name(w.op), L.kernel, blockIdx.x, warp, w.arrived,
                 w.line, lanes - w.arrived,
                 lanes < 32 ? " (the block size is not a multiple of 32: the warp is partial)"
                            : "");
    } else {
        const Warp& w = g_warps[warp];
        snprintf(L.msg, sizeof L.msg,
                 "deadlock in kernel %s, block %u: %u thread(s) wait at __syncthreads (line %d) "
                 "while %u lane(s) of warp %d wait at %s (line %d); %u thread(s) exited",
                 L.kernel, blockIdx.x, at_block, L.bar_line, w.arrived, warp, op_name(w.op),
                 w.line, exited);
    }
    L.failed = 1;
}

static int run_block(unsigned b) {
    const unsigned block = L.block;
    blockIdx.x = b;
    L.done = 0;
    L.bar_arrived = 0;
    L.bar_line = 0;
    if (__start_tx_shared && __stop_tx_shared > __start_tx_shared)
        memset(__start_tx_shared, 0xff, (size_t)(__stop_tx_shared - __start_tx_shared));
    for (unsigned w = 0; w < (block + 31) / 32; w++) {
        g_warps[w].arrived = 0;
        g_warps[w].op = OP_NONE;
    }
    for (unsigned t = 0; t < block; t++) {
        Fiber& f = g_fibers[t];
        f.fake_stack = nullptr;
        f.state = READY;
#if TX_SIM_FAST_SWITCH
        // A frame that tx_sim_switch "returns" into fiber_main from: 8 bytes of FP control, six
        // zeroed callee-saved registers, fiber_main's address, then a null return address for
        // fiber_main (which never returns) so that it starts with the ABI's stack alignment.
        void** sp = (void**)(((uintptr_t)(stack_of(t) + kStack)) & ~(uintptr_t)15);
        *--sp = nullptr;
        *--sp = (void*)&fiber_main;
        for (int r = 0; r < 6; r++) *--sp = nullptr;
        --sp;
        memcpy(sp, L.fp_control, sizeof L.fp_control);
        f.sp = sp;
#else
        f.ctx.uc_stack.ss_sp = stack_of(t);
        f.ctx.uc_stack.ss_size = kStack;
        f.ctx.uc_link = &L.sched;
#if TX_SIM_ASAN
        __asan_unpoison_memory_region(stack_of(t), kStack);  // frames abandoned by a failure
#endif
        makecontext(&f.ctx, fiber_main, 0);
#endif
    }
    for (;;) {
        bool ran = false;
        for (unsigned t = 0; t < block; t++) {
            Fiber& f = g_fibers[t];
            if (f.state == DONE) continue;
            if (f.state == AT_BLOCK && f.wait_gen == L.bar_gen) continue;
            if (f.state == AT_WARP && f.wait_gen == g_warps[t / 32].gen) continue;
            f.state = READY;
            L.current = t;
            threadIdx.x = t;
#if TX_SIM_ASAN
            __sanitizer_start_switch_fiber(&L.sched_fake, stack_of(t), kStack);
#endif
#if TX_SIM_FAST_SWITCH
            tx_sim_switch(&L.sched_sp, f.sp);
#else
            swapcontext(&L.sched, &f.ctx);
#endif
#if TX_SIM_ASAN
            __sanitizer_finish_switch_fiber(L.sched_fake, nullptr, nullptr);
#endif
            __asm__ __volatile__("" ::: "memory");
            ran = true;
            if (L.failed) return 1;
        }
        if (L.done == block) return 0;
        if (!ran) {
            describe_deadlock(block);
            return 1;
        }
    }
}

// Run `body` (which unpacks `args` and calls the kernel) on a grid x block launch.
static int run_grid(const char* kernel, unsigned grid, unsigned block, void (*body)(void**),
                    void** args, char* err, int errlen) {
    if (grid < 1 || grid > 0x7fffffffu)
        return fail_outside(err, errlen, "kernel %s: grid size %u is not in 1..2147483647",
                            kernel, grid);
    if (block < 1 || block > kMaxBlock)
        return fail_outside(err, errlen, "kernel %s: block size %u is not in 1..%u", kernel,
                            block, kMaxBlock);
    if (__atomic_exchange_n(&g_busy, 1, __ATOMIC_ACQ_REL))
        return fail_outside(err, errlen, "kernel %s: another launch is running in this module "
                            "(the simulator runs one launch at a time)", kernel);
    if (!reserve(block)) {
        __atomic_store_n(&g_busy, 0, __ATOMIC_RELEASE);
        return fail_outside(err, errlen, "kernel %s: cannot allocate %u fiber stacks", kernel,
                            block);
    }
#if TX_SIM_FAST_SWITCH
    __asm__ __volatile__("stmxcsr %0\n\tfnstcw %1" : "=m"(L.fp_control[0]), "=m"(L.fp_control[1]));
    L.fp_control[1] &= 0xffff;
#else
    memset(&L.sched, 0, sizeof L.sched);
#endif
    L.kernel = kernel;
    L.body = body;
    L.args = args;
    L.block = block;
    L.failed = 0;
    L.msg[0] = 0;
    blockDim = {block, 1, 1};
    gridDim = {grid, 1, 1};
    threadIdx = {0, 0, 0};
    blockIdx = {0, 0, 0};
    int rc = 0;
    for (unsigned b = 0; b < grid && rc == 0; b++) rc = run_block(b);
    release();
    if (rc && err && errlen > 0) snprintf(err, (size_t)errlen, "%s", L.msg);
    fflush(stdout);  // a kernel's printf shows up by the time the launch returns, as after a sync
    __atomic_store_n(&g_busy, 0, __ATOMIC_RELEASE);
    return rc;
}

[[noreturn]] static void trap(const char* what, const char* file, int line) {
    fail("%s in kernel %s, block %u, thread %u (%s:%d)", what, L.kernel, blockIdx.x,
         threadIdx.x, file, line);
}

}  // namespace tx_sim

// ---- the CUDA device API ----------------------------------------------------------------------

#define __syncthreads() tx_sim::syncthreads(__LINE__)
#define __syncwarp(...) tx_sim::syncwarp(tx_sim_mask_or_full(__VA_ARGS__), __LINE__)
static inline unsigned tx_sim_mask_or_full() { return 0xffffffffu; }
static inline unsigned tx_sim_mask_or_full(unsigned mask) { return mask; }
#define __shfl_sync(mask, v, ...) tx_sim_shfl(tx_sim::SHFL_IDX, __LINE__, mask, v, __VA_ARGS__)
#define __shfl_up_sync(mask, v, ...) tx_sim_shfl(tx_sim::SHFL_UP, __LINE__, mask, v, __VA_ARGS__)
#define __shfl_down_sync(mask, v, ...) \
    tx_sim_shfl(tx_sim::SHFL_DOWN, __LINE__, mask, v, __VA_ARGS__)
#define __shfl_xor_sync(mask, v, ...) tx_sim_shfl(tx_sim::SHFL_XOR, __LINE__, mask, v, __VA_ARGS__)
template <class T>
static inline T tx_sim_shfl(tx_sim::ShflKind kind, int line, unsigned mask, T v, int arg,
                            int width = 32) {
    return tx_sim::shfl<T>(mask, v, kind, arg, width, line);
}

#define __trap() tx_sim::trap("__trap()", __FILE__, __LINE__)
#undef assert
#define assert(e) ((e) ? (void)0 : tx_sim::trap("assertion `" #e "` failed", __FILE__, __LINE__))

static inline void __threadfence() {}
static inline void __threadfence_block() {}
static inline void __threadfence_system() {}

template <class T>
static inline T __ldg(const T* p) { return *p; }

// Bit casts.
template <class To, class From>
static inline To tx_sim_bits(From x) {
    static_assert(sizeof(To) == sizeof(From), "bit cast between sizes");
    To r;
    memcpy(&r, &x, sizeof r);
    return r;
}
static inline float __int_as_float(int x) { return tx_sim_bits<float>(x); }
static inline int __float_as_int(float x) { return tx_sim_bits<int>(x); }
static inline float __uint_as_float(unsigned x) { return tx_sim_bits<float>(x); }
static inline unsigned __float_as_uint(float x) { return tx_sim_bits<unsigned>(x); }
static inline double __longlong_as_double(long long x) { return tx_sim_bits<double>(x); }
static inline long long __double_as_longlong(double x) { return tx_sim_bits<long long>(x); }
static inline int __double2hiint(double x) { return (int)(__double_as_longlong(x) >> 32); }
static inline int __double2loint(double x) { return (int)__double_as_longlong(x); }
static inline double __hiloint2double(int hi, int lo) {
    const unsigned long long bits = ((unsigned long long)(unsigned)hi << 32) | (unsigned)lo;
    return __longlong_as_double((long long)bits);
}

// Integer intrinsics.
static inline int __popc(unsigned x) { return __builtin_popcount(x); }
static inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
static inline int __clz(int x) { return x ? __builtin_clz((unsigned)x) : 32; }
static inline int __clzll(long long x) { return x ? __builtin_clzll((unsigned long long)x) : 64; }
static inline int __ffs(int x) { return __builtin_ffs(x); }
static inline int __ffsll(long long x) { return __builtin_ffsll(x); }
static inline unsigned __brev(unsigned x) {
    x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
    x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
    x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
    return __builtin_bswap32(x);
}
static inline int __mulhi(int a, int b) { return (int)(((long long)a * b) >> 32); }
static inline unsigned __umulhi(unsigned a, unsigned b) {
    return (unsigned)(((unsigned long long)a * b) >> 32);
}
static inline long long __mul64hi(long long a, long long b) {
    return (long long)(((__int128)a * b) >> 64);
}
static inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
    return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}

// Device min/max: CUDA overloads them for the integer types (and float/double as fminf/fmin);
// one template with the usual arithmetic conversions covers those and the mixed cases.
template <class A, class B,
          class = typename std::enable_if<std::is_arithmetic<A>::value &&
                                          std::is_arithmetic<B>::value>::type>
static inline auto min(A a, B b) -> decltype(a + b) {
    typedef decltype(a + b) R;
    if constexpr (std::is_floating_point<R>::value) return fmin((R)a, (R)b);
    else return (R)a < (R)b ? (R)a : (R)b;
}
template <class A, class B,
          class = typename std::enable_if<std::is_arithmetic<A>::value &&
                                          std::is_arithmetic<B>::value>::type>
static inline auto max(A a, B b) -> decltype(a + b) {
    typedef decltype(a + b) R;
    if constexpr (std::is_floating_point<R>::value) return fmax((R)a, (R)b);
    else return (R)a > (R)b ? (R)a : (R)b;
}

// Fast-math and rounding-mode intrinsics, as the accurate round-to-nearest operations. (Macros
// for the names glibc's <math.h> declares itself but does not always export.)
#define __expf(x) expf(x)
#define __exp10f(x) powf(10.0f, (x))
#define __logf(x) logf(x)
#define __log2f(x) log2f(x)
#define __log10f(x) log10f(x)
#define __sinf(x) sinf(x)
#define __cosf(x) cosf(x)
#define __tanf(x) tanf(x)
#define __powf(x, y) powf((x), (y))
static inline float __fdividef(float x, float y) { return x / y; }
static inline float __saturatef(float x) { return x >= 1.0f ? 1.0f : (x > 0.0f ? x : 0.0f); }
static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
static inline double rsqrt(double x) { return 1.0 / sqrt(x); }
static inline float __frcp_rn(float x) { return 1.0f / x; }
static inline float __fsqrt_rn(float x) { return sqrtf(x); }
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
static inline double __dadd_rn(double a, double b) { return a + b; }
static inline double __dsub_rn(double a, double b) { return a - b; }
static inline double __dmul_rn(double a, double b) { return a * b; }
static inline double __ddiv_rn(double a, double b) { return a / b; }
static inline double __fma_rn(double a, double b, double c) { return fma(a, b, c); }

// Atomics (see the top of the file for why plain read-modify-writes are atomic here).
namespace tx_sim {
template <class T> struct same { typedef T type; };  // a parameter that takes no part in deduction
}
#define TX_SIM_ATOMIC(name, expr)                                        \
    template <class T>                                                   \
    static inline T name(T* p, typename tx_sim::same<T>::type v) {       \
        static_assert(std::is_arithmetic<T>::value, #name " on a non-arithmetic type"); \
        T old = *p;                                                      \
        *p = (expr);                                                     \
        return old;                                                      \
    }
TX_SIM_ATOMIC(atomicAdd, old + v)
TX_SIM_ATOMIC(atomicSub, old - v)
TX_SIM_ATOMIC(atomicExch, v)
TX_SIM_ATOMIC(atomicMax, old < v ? v : old)
TX_SIM_ATOMIC(atomicMin, v < old ? v : old)
TX_SIM_ATOMIC(atomicAnd, old & v)
TX_SIM_ATOMIC(atomicOr, old | v)
TX_SIM_ATOMIC(atomicXor, old ^ v)
#undef TX_SIM_ATOMIC
template <class T>
static inline T atomicCAS(T* p, typename tx_sim::same<T>::type compare,
                          typename tx_sim::same<T>::type v) {
    T old = *p;
    if (old == compare) *p = v;
    return old;
}
static inline unsigned atomicInc(unsigned* p, unsigned limit) {
    unsigned old = *p;
    *p = old >= limit ? 0u : old + 1u;
    return old;
}
static inline unsigned atomicDec(unsigned* p, unsigned limit) {
    unsigned old = *p;
    *p = (old == 0u || old > limit) ? limit : old - 1u;
    return old;
}
