// The answers a documented limit fixes, which the reference model (bytes only) cannot see: a
// call refused although within its limit, or let through past it. Judged only for a call made
// outside `together` blocks, where nothing changes the state between the look before the call
// and the answer.
//
// Observes only: it reads the map's wired entries and the wired-page counters before the call.

import UVMCore
import UVMKernel

/// A look taken before a call, which then judges the call's answer by a documented rule (a
/// limit here, a permission in PermissionOracle.swift).
public protocol AnswerJudgment {
    /// What is wrong with `answer` (nil: success), or nil if the rule allows it.
    func judge(_ answer: Errno?) -> String?
}

/// setrlimit(RLIMIT_MEMLOCK) by `proc`: without privilege, a limit may be lowered or kept but
/// not raised (dosetrlimit refuses a hard limit above the current one, EPERM; here a process
/// has one limit, soft and hard at once); with it, anything goes. After a success the process's
/// limit is the one asked for, which the mlock oracle then reads: a call that answered ok and
/// kept the old limit would make every later judgment agree with the wrong one.
public struct SetrlimitOracle: AnswerJudgment {
    private let proc: Proc
    private let before: UInt64
    private let asked: UInt64
    private let privileged: Bool

    public init(_ proc: Proc, asking limit: UInt64) {
        self.proc = proc
        before = proc.memlockLimit
        asked = limit
        privileged = proc.uid == 0
    }

    public func judge(_ answer: Errno?) -> String? {
        let raise = asked > before
        switch answer {
        case .EPERM? where privileged || !raise:
            return "setrlimit of RLIMIT_MEMLOCK from \(before) to \(asked) by \(proc.name) refused with EPERM, yet " +
                (privileged ? "it is privileged" : "it does not raise the limit")
        case nil where raise && !privileged:
            return "setrlimit of RLIMIT_MEMLOCK from \(before) to \(asked) by \(proc.name), unprivileged, succeeded"
        case nil where proc.memlockLimit != asked:
            return "setrlimit of RLIMIT_MEMLOCK to \(asked) by \(proc.name) succeeded, yet its limit is \(proc.memlockLimit)"
        default:
            return nil
        }
    }
}

/// A wiring call against RLIMIT_MEMLOCK: the pages it asks for, added to the pages of the
/// process's wired entries (the kernel's stand-in for pmap_wired_count,
/// `Kernel.wiredPageCount`), must not pass the limit. Both counts are taken here from the map,
/// as the audit recomputes what it checks, rather than asked of the kernel: a mistake in the
/// kernel's count then shows as well as one in its comparison.
/// - mlock (sys_mlock, uvm_mmap.c) asks for every page of its range, and refuses with EAGAIN
///   exactly when the sum passes the limit; a limit of 0 is no exception for it. Both a refusal
///   within the limit and a success past it are wrong. It also refuses past wiredmax, which is
///   left to the audit: the oracle judges a refusal only where wiredmax has room for the range
///   twice over (a wiring that copies pays for each copy too).
/// - mlockall(MCL_CURRENT) (uvm_map_pageable_all) asks for the accessible pages not yet wired,
///   and takes a limit of 0 as none. Its refusal, ENOMEM, is also what a wiring fault short of
///   memory answers, so only a success past the limit is judged.
public struct MemlockOracle: AnswerJudgment, Sendable {
    private let call: String
    private let proc: String
    private let wiredPages: Int
    private let requested: Int
    private let limit: UInt64
    private let pageSize: UInt64
    /// The errno the call refuses with past the limit, when a refusal can be judged.
    private let refusal: Errno?
    private let zeroLimitIsNone: Bool
    private let wiredmaxHasRoom: Bool

    private init(_ k: Kernel, _ proc: Proc, call: String, requested: Int, refusal: Errno?, zeroLimitIsNone: Bool) {
        let shift = k.uvm.pageShift
        self.call = call
        self.proc = proc.name
        wiredPages = proc.map.entries.elements.reduce(0) { $0 + ($1.isWired ? Int($1.pageCount(shift)) : 0) }
        self.requested = requested
        limit = proc.memlockLimit
        pageSize = UInt64(k.pageSize)
        self.refusal = refusal
        self.zeroLimitIsNone = zeroLimitIsNone
        // Pages reserved and not yet wired (a vslock's copies, wired placeholders) take room too.
        let mem = k.uvm.mem
        wiredmaxHasRoom = mem.wiredAgainstLimit + mem.wiredReserved + 2 * requested <= mem.wiredMax
    }

    /// Looks at the state before `mlock(addr, len)` by `proc`; nil for a range that wraps past
    /// 2⁶⁴. (A range past the end of the address space gets an oracle, but mlock answers it
    /// ENOMEM, which `judge` leaves alone.)
    public static func mlock(_ k: Kernel, _ proc: Proc, addr: UInt64, len: UInt64) -> MemlockOracle? {
        let ps = UInt64(k.pageSize)
        let (end, overflow) = addr.addingReportingOverflow(len)
        guard !overflow, end <= UInt64.max - (ps - 1) else { return nil }
        let lo = addr & ~(ps - 1), hi = (end + ps - 1) & ~(ps - 1)
        let pages = Int((hi - lo) >> UInt64(k.uvm.pageShift))
        return MemlockOracle(k, proc, call: "mlock", requested: pages, refusal: .EAGAIN, zeroLimitIsNone: false)
    }

    /// Looks at the state before `mlockall(MCL_CURRENT)` by `proc`.
    public static func mlockallCurrent(_ k: Kernel, _ proc: Proc) -> MemlockOracle {
        let shift = k.uvm.pageShift
        let pages = proc.map.entries.elements.reduce(0) {
            $0 + (!$1.isWired && !$1.protection.isEmpty ? Int($1.pageCount(shift)) : 0)
        }
        return MemlockOracle(k, proc, call: "mlockall", requested: pages, refusal: nil, zeroLimitIsNone: true)
    }

    public func judge(_ answer: Errno?) -> String? {
        let (wanted, overflow) = UInt64(wiredPages + requested).multipliedReportingOverflow(by: pageSize)
        let withinLimit = (zeroLimitIsNone && limit == 0) || (!overflow && wanted <= limit)
        let what = "\(proc)'s \(wiredPages) wired page(s) and the \(requested) asked for (\(wanted) bytes)"
        if let refusal, answer == refusal, withinLimit, wiredmaxHasRoom {
            return "\(call) refused with \(refusal), yet \(what) are within its RLIMIT_MEMLOCK of \(limit)"
        }
        if answer == nil && !withinLimit {
            return "\(call) succeeded, yet \(what) pass its RLIMIT_MEMLOCK of \(limit)"
        }
        return nil
    }
}
