// The executor of the `Sim` actor: one host thread of its own that runs the actor's jobs in the
// order they arrive.
//
// Why not the default executor. At every thread switch of the simulation, the running task
// resumes the next one's continuation and then suspends. On the default executor the resumed
// task is handed to a worker of the global pool, which is woken through a semaphore: a host
// context switch (two system calls) per simulated switch, the larger part of a schedule's cost.
// Here the resumed task is queued behind the running one and the same host thread runs it as
// soon as the running one suspends; the thread sleeps only when the simulation is idle.
//
// It is also every simulated thread's task executor (SE-0417): a resumed continuation goes to the
// task's preferred executor before any hop to `Sim`, and without the preference that would still
// be the global pool.

#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#endif
import DequeModule

final class SimExecutor: SerialExecutor, TaskExecutor, @unchecked Sendable {
    static let shared = SimExecutor()

    /// Jobs waiting to run, guarded by `mutex`.
    private var jobs = Deque<UnownedJob>()
    /// Whether the thread is asleep on `wakeup`, guarded by `mutex`.
    private var sleeping = false
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wakeup = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    private init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wakeup, nil)
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { context in
            let executor = Unmanaged<SimExecutor>.fromOpaque(context!).takeUnretainedValue()
            executor.runJobs()
        }, Unmanaged.passUnretained(self).toOpaque())
        precondition(started == 0, "cannot start the simulation's thread (error \(started))")
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        pthread_mutex_lock(mutex)
        jobs.append(job)
        let wake = sleeping
        pthread_mutex_unlock(mutex)
        if wake { pthread_cond_signal(wakeup) }
    }

    private func runJobs() -> Never {
        while true {
            pthread_mutex_lock(mutex)
            while jobs.isEmpty {
                sleeping = true
                pthread_cond_wait(wakeup, mutex)
            }
            sleeping = false
            let job = jobs.removeFirst()
            pthread_mutex_unlock(mutex)
            job.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
        }
    }
}
