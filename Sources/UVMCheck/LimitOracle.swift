// The answers a documented limit fixes, which the reference model (bytes only) cannot see: a
// call refused although within its limit, or let through past it. Judged only for a call made
// outside `together` blocks, where nothing changes the state between the look before the call
// and the answer.
//
// Observes only: it reads the map's wired entries and the wired-page counters before the call.

import UVMCore
import UVMKernel

/// mlock(2) against RLIMIT_MEMLOCK. sys_mlock (uvm_mmap.c) refuses with EAGAIN exactly when the
/// pages of the range, added to the pages of the process's wired entries (the kernel's stand-in
/// for pmap_wired_count, `Kernel.wiredPageCount`), pass the limit; a limit of 0 is no exception for mlock. It also refuses past
/// wiredmax, which is left to the audit: the oracle speaks only where wiredmax has room to
/// spare for the range twice over (a wiring that copies pays for each copy too).
public struct MemlockOracle: Sendable {
    private let proc: String
    private let wiredPages: Int
    private let requested: Int
    private let limit: UInt64
    private let pageSize: UInt64
    private let wiredmaxHasRoom: Bool

    /// Looks at the state before `mlock(addr, len)` by `proc`; nil for a range that wraps past
    /// 2⁶⁴. (A range past the end of the address space gets an oracle, but mlock answers it
    /// ENOMEM, which `judge` leaves alone.)
    public init?(_ k: Kernel, _ proc: Proc, addr: UInt64, len: UInt64) {
        let ps = UInt64(k.pageSize), shift = k.uvm.pageShift
        let (end, overflow) = addr.addingReportingOverflow(len)
        guard !overflow, end <= UInt64.max - (ps - 1) else { return nil }
        let lo = addr & ~(ps - 1), hi = (end + ps - 1) & ~(ps - 1)
        self.proc = proc.name
        wiredPages = proc.map.entries.elements.reduce(0) { $0 + ($1.isWired ? Int($1.pageCount(shift)) : 0) }
        requested = Int((hi - lo) >> UInt64(shift))
        limit = proc.memlockLimit
        pageSize = ps
        let mem = k.uvm.mem
        // Pages reserved and not yet wired (a vslock's copies, wired placeholders) take room too.
        wiredmaxHasRoom = mem.wiredAgainstLimit + mem.wiredReserved + 2 * requested <= mem.wiredMax
    }

    /// What is wrong with `answer` (nil: success), or nil if the limit allows it.
    public func judge(_ answer: Errno?) -> String? {
        let (wanted, overflow) = UInt64(wiredPages + requested).multipliedReportingOverflow(by: pageSize)
        let withinLimit = !overflow && wanted <= limit
        if answer == .EAGAIN && withinLimit && wiredmaxHasRoom {
            return "mlock refused with EAGAIN, yet \(proc)'s \(wiredPages) wired page(s) and the \(requested) asked for "
                + "(\(wanted) bytes) are within its RLIMIT_MEMLOCK of \(limit)"
        }
        if answer == nil && !withinLimit {
            return "mlock succeeded, yet \(proc)'s \(wiredPages) wired page(s) and the \(requested) asked for "
                + "(\(wanted) bytes) pass its RLIMIT_MEMLOCK of \(limit)"
        }
        return nil
    }
}
