import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// Gives the C heap's free pages back to the kernel after a burst. A burst of clients (200 cold
/// processes in the benchmark) makes every thread that served them grow its own malloc arena;
/// when it is over, glibc keeps the freed pages in those arenas (only the main heap's top is
/// returned by itself). Every two seconds the broker calls glibc's `malloc_trim(0)`, which
/// returns whole free pages of every arena: measured after the benchmark's load, 8.2 → 6.3 MiB
/// anonymous (docs/performance.md). With little free, a trim is a short walk over the free lists.
struct HeapTrim: Service {
    var interval: Duration = .seconds(2)

    /// glibc's `malloc_trim` (malloc.h is not part of Swift's Glibc module), looked up once;
    /// `nil` on a C library without it.
    static let trim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
        guard let process = dlopen(nil, RTLD_NOW), let symbol = dlsym(process, "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
        return nil
        #endif
    }()

    func run() async throws {
        guard let trim = Self.trim else {
            try? await gracefulShutdown()  // a service that returns would end the broker
            return
        }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            _ = trim(0)
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return  // shutting down
            }
        }
    }
}
