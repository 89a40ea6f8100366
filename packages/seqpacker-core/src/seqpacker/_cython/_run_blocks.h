/* seqpacker_run_blocks: run independent blocks of work on a few std::threads.

   Shared by the Cython kernels (obfdp's shards) and the builder (rows of large batches).
   fn(context, b) runs once for every block b in [0, blocks), on up to `threads` threads, the
   caller's among them; blocks are claimed from an atomic counter. Blocks must be independent,
   so which thread runs which block never changes the result. A thread that cannot be started
   only leaves more blocks to the others. */
#ifndef SEQPACKER_RUN_BLOCKS_H
#define SEQPACKER_RUN_BLOCKS_H

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

typedef void (*seqpacker_block_fn)(void *context, int64_t block);

static void seqpacker_run_blocks(seqpacker_block_fn fn, void *context, int64_t blocks,
                                 int threads) {
    std::atomic<int64_t> next(0);
    auto work = [&]() {
        for (int64_t b = next.fetch_add(1); b < blocks; b = next.fetch_add(1)) fn(context, b);
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads && t < blocks; ++t) {
        try { pool.emplace_back(work); } catch (...) { break; }
    }
    work();
    for (auto &thread : pool) thread.join();
}

/* seqpacker_start_beside / seqpacker_finish_beside: fn(context, 0) on one more thread while
   the caller does other work; finish waits for it. Where no thread can be started, finish
   runs fn itself. Between the two, the caller must not touch what fn writes. */
static void *seqpacker_start_beside(seqpacker_block_fn fn, void *context) {
    try { return new std::thread(fn, context, (int64_t)0); } catch (...) { return nullptr; }
}

static void seqpacker_finish_beside(void *handle, seqpacker_block_fn fn, void *context) {
    if (handle == nullptr) { fn(context, 0); return; }
    std::thread *beside = static_cast<std::thread *>(handle);
    beside->join();
    delete beside;
}

#endif
