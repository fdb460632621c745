// ptrace(2) PT_READ_D / PT_WRITE_D and the socket loan, the kernel's two ways into another
// address space's pages.
//
// ptrace goes through the target's map at the entry's *maximum* protection, as NetBSD's
// uvm_io → uvm_map_extract(UVM_EXTRACT_FIXPROT) does: a write to read-only private text is
// copied to an anon of the target (copy-on-write), so the file never changes. Because wiring
// faults at maximum protection too (VM_FAULT_WIREMAX, NetBSD uvm_fault.c, December 2001), a locked private mapping is
// already anonymous and the write finds the wired anon in place: nothing wired is ever replaced.
// Errnos: another uid (or a process whose uid changed, PK_SUGID) without privilege EPERM, the
// caller's own process EINVAL (no process attaches to itself), a dead target ESRCH, an
// unmapped address EINVAL (uvm_map_extract), a protection the mapping can never have EACCES,
// a page past the end of its file EINVAL (the fault's own error).
//
// Locking: ptrace faults with no lock held, then read-locks the target's map and reads or writes
// the page behind the address before unlocking it, with no switch point in between; a busy page
// is waited for with the map unlocked. The socket loan is uvm_loan's (Loan.swift).

import UVMCore
import UVMMachine
import UVMSched

extension Kernel {
    private func traced(_ lwp: LWP, _ name: String) throws -> Proc {
        guard let target = proc(named: name), !target.exited else { throw Errno.ESRCH }
        // A process cannot be its own tracer: ptrace_allowed refuses PT_ATTACH to oneself
        // (EINVAL), and a read or write needs the target attached.
        if target === lwp.proc { throw Errno.EINVAL }
        // ptrace_listener_cb: without privilege, only a process of one's own uid whose
        // credentials have not changed (PK_SUGID).
        if let me = lwp.proc, me.uid != 0 && (me.uid != target.uid || target.credentialsChanged) { throw Errno.EPERM }
        return target
    }

    /// Faults `va` in `target` for `access` at maximum protection and runs `use` on the page
    /// behind it while the map is still locked: no switch point between finding the page and
    /// using it, so the page daemon cannot take it in between.
    private func withTracedPage<T>(_ target: Proc, _ va: UInt64, _ access: VMProt, _ use: (VMPage) -> T) async throws -> T {
        let map = target.map
        for _ in 0...uvm.faultRestartBound {
            try await map.lock.enter(.reader)
            guard let e = map.lookup(va) else {
                try await map.lock.exit()
                throw Errno.EINVAL
            }
            let maxProt = e.maxProtection
            try await map.lock.exit()
            guard maxProt.isSuperset(of: access) else { throw Errno.EACCES }
            var result = try await uvm.fault(map, va: va, access: access, wiring: access.contains(.write) ? .max : .none)
            if result == .sigsegv && !e.protection.contains(.read) {
                // Readable only through the maximum protection.
                result = try await uvm.fault(map, va: va, access: access, wiring: .max)
            }
            if result != .ok {
                // Unmapped since the lookup: the same answer as if it had never been mapped.
                try await map.lock.enter(.reader)
                let entry = map.lookup(va)
                try await map.lock.exit()
                guard let entry else { throw Errno.EINVAL }
                throw copyFaultError(result, entry, va)
            }
            try await map.lock.enter(.reader)
            if let e = map.lookup(va), let pg = uvm.pageIncludingDevice(backing: e, va: va), pg.isBusy {
                // Being paged in or out: wait, as a fault would, and look again.
                try await map.lock.exit()
                try await pg.waitUnbusy(sched)
                continue
            }
            if let e = map.lookup(va), let pg = uvm.pageIncludingDevice(backing: e, va: va) {
                // A write needs the target's own page: an anon only it holds, or a shared object page.
                let own = !access.contains(.write) || !e.copyOnWrite
                    || (e.amap?.anons[e.amapSlot(for: va, uvm.pageShift)].map { $0.refs == 1 && $0.page === pg } ?? false)
                if own && (pg.loanCount == 0 || !access.contains(.write)) {
                    let result = use(pg)
                    try await map.lock.exit()
                    return result
                }
            }
            try await map.lock.exit()
        }
        throw sched.abort(KernelFailure(.livelock, "ptrace at \(hex(va)) never found its page in place"))
    }

    /// What uvm_io's copy returns when its fault fails. It copies kernel to kernel (uiomove of a
    /// UIO_SYSSPACE uio, kcopy), whose onfault handler keeps uvm_fault's own error where
    /// copyin/copyout's always answer EFAULT: past the end of a file genfs_getpages' EINVAL
    /// (NetBSD's t_ptrace bytes_transfer_eof_pt_read_d / _pt_write_d), a read error EIO, no
    /// memory ENOMEM; anything else EFAULT.
    private func copyFaultError(_ result: FaultResult, _ entry: MapEntry, _ va: UInt64) -> Errno {
        switch result {
        case .sigbus:
            let pastEOF = entry.object.map { !$0.contains(entry.objectPage(va, uvm.pageShift)) } ?? false
            return pastEOF ? .EINVAL : .EIO
        case .sigkill: return .ENOMEM
        case .sigsegv, .ok, .wiredLimit: return .EFAULT
        }
    }

    public func ptraceRead(_ lwp: LWP, target name: String, _ va: UInt64) async throws -> UInt8 {
        let target = try traced(lwp, name)
        return try await withTracedPage(target, va, [.read]) { $0.read(Int(va & pageMask)) }
    }

    public func ptraceWrite(_ lwp: LWP, target name: String, _ va: UInt64, _ byte: UInt8) async throws {
        let target = try traced(lwp, name)
        let ps = pageSize, off = Int(va & pageMask)
        try await withTracedPage(target, va, [.write]) { pg in
            pg.write(off, byte, pageSize: ps)
            pg.dirty = true
        }
    }

    /// The scenario's `loan`: the kernel borrows the pages of the range read-only.
    public func loan(_ lwp: LWP, _ addr: UInt64, _ len: UInt64) async throws -> Loan {
        let p = try liveProc(lwp)
        guard len > 0, let (lo, hi) = roundAndCheck(addr, len) else { throw Errno.EFAULT }
        switch try await uvm.loan(p.map, lo, hi) {
        case .success(let l): return l
        case .failure: throw Errno.EFAULT
        }
    }

    public func unloan(_ loan: Loan) throws {
        guard !loan.dropped else { throw Errno.EINVAL }
        try uvm.unloan(loan)
    }
}
