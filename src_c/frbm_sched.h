/* Work claiming without barriers, for kernels that run a sequence of dependent phases.
 *
 * A kernel's work is a fixed sequence of phases (gather rows, hidden pass, visible
 * pass, ...), each cut into chunks whose boundaries depend on the problem's shape only,
 * never on the thread count. All chunks of all phases are numbered one after another.
 * A thread claims the next number (one atomic add), waits until every chunk numbered
 * before the claimed chunk's phase is done, runs the chunk, and counts it done.
 *
 * Why not barriers: a barrier waits for every thread to *arrive*. On a loaded machine
 * a descheduled thread then stalls every phase for the rest of its time slice, and its
 * static share of the work waits with it. Here a running thread takes whatever chunks
 * remain, and waits only for chunks actually in progress elsewhere; a thread that comes
 * back late finds its phases done and skips them. Since chunk boundaries and the order
 * of each chunk's arithmetic do not depend on who runs it, results are bitwise the same
 * on any number of threads.
 *
 * Waiting spins briefly (the usual case on a quiet machine is a wait of microseconds),
 * then yields the core, then sleeps, so that a waiting thread gives its core to the
 * thread it waits for instead of competing with it.
 */
#ifndef FASTRBM_FRBM_SCHED_H
#define FASTRBM_FRBM_SCHED_H

#include <stdint.h>
#include <sched.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define FRBM_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define FRBM_CPU_RELAX() __asm__ __volatile__("yield")
#else
#define FRBM_CPU_RELAX() ((void)0)
#endif

/* claimed and done on separate cache lines: every thread writes both */
typedef struct {
    int64_t claimed;
    char pad0[56];
    int64_t done;
    char pad1[56];
} frbm_sched;

/* spins (each a pause, ~10-40 ns) before yielding, and yields before sleeping */
#define FRBM_SPINS 4000
#define FRBM_YIELDS 200
#define FRBM_SLEEP_NS 20000

static inline void frbm_sched_init(frbm_sched *s)
{
    s->claimed = 0;
    s->done = 0;
}

static inline int64_t frbm_sched_claim(frbm_sched *s)
{
    return __atomic_fetch_add(&s->claimed, 1, __ATOMIC_RELAXED);
}

/* release: the chunk's writes are visible to whoever sees the count */
static inline void frbm_sched_finish(frbm_sched *s)
{
    __atomic_fetch_add(&s->done, 1, __ATOMIC_RELEASE);
}

/* Wait until at least ``target`` chunks are done (acquire: their writes are visible). */
static inline void frbm_sched_wait(frbm_sched *s, int64_t target)
{
    int i;
    struct timespec nap = {0, FRBM_SLEEP_NS};
    if (__atomic_load_n(&s->done, __ATOMIC_ACQUIRE) >= target)
        return;
    for (i = 0; i < FRBM_SPINS; i++) {
        FRBM_CPU_RELAX();
        if (__atomic_load_n(&s->done, __ATOMIC_ACQUIRE) >= target)
            return;
    }
    for (i = 0; i < FRBM_YIELDS; i++) {
        sched_yield();
        if (__atomic_load_n(&s->done, __ATOMIC_ACQUIRE) >= target)
            return;
    }
    while (__atomic_load_n(&s->done, __ATOMIC_ACQUIRE) < target)
        nanosleep(&nap, NULL);
}

/* Seconds of a monotonic clock (for pacing work between checks for signals). */
static inline double frbm_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#endif
