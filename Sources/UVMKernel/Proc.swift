// Processes, their threads and address spaces (struct proc, struct lwp, struct vmspace).
//
// Locking: a process's table entries change only between operations of the scenario driver;
// the address space's map has its own lock (see Map.swift).

import UVMCore
import UVMMachine
import UVMSched

/// The user part of the address space: NetBSD amd64's VM_MIN_ADDRESS..VM_MAXUSER_ADDRESS
/// (page 0 stays unmapped so that null pointers fault).
public let userMinAddress: UInt64 = 0x1000
public let userMaxAddress: UInt64 = 0x7f7f_ffff_c000
/// Where mmap looks for space when not given an address.
public let mmapBase: UInt64 = 0x1000_0000

/// One shmat: where the segment was attached.
public struct ShmAttachment {
    public let address: UInt64
    public let segment: ShmSegment
    /// Attached SHM_RDONLY: its mapping may never be written, whatever mprotect asks.
    public let readOnly: Bool
}

public final class VMSpace {
    /// The process whose image this is, for messages.
    public let name: String
    public let map: VMMap
    /// SysV shm attachments, newest first (NetBSD's vm_shm list, sysv_shm.c: shmat inserts at
    /// the head and shmdt takes the first match). They belong to the image, so an exec or exit
    /// racing shmat or shmdt detaches exactly what this map holds. A munmapped attachment keeps
    /// its record, so a later shmat may land at the same address: two records, one address.
    /// Changed only with the map write-locked, so fork copies the map and its attachments as one.
    public internal(set) var shmAttachments: [ShmAttachment] = []

    /// The newest attachment starting at `address` (the one shmdt would detach).
    public func shmAttachment(at address: UInt64) -> ShmSegment? {
        shmAttachments.first { $0.address == address }?.segment
    }
    init(_ uvm: UVM, name: String) {
        self.name = name
        map = VMMap(uvm, name: name, minAddress: userMinAddress, maxAddress: userMaxAddress)
    }
}

public final class Proc: CustomStringConvertible {
    public let name: String
    public let pid: Int
    /// The one uid a process has here: real, effective and saved at once.
    public internal(set) var uid: UInt32
    /// PK_SUGID: the uid changed since the last exec, so the process may hold what its old
    /// credentials gave it; only privilege may trace it (kern_prot.c do_setresuid sets it,
    /// fork passes it on, exec of a binary that is not set-id clears it).
    public internal(set) var credentialsChanged = false
    /// RLIMIT_MEMLOCK in bytes, soft and hard limit at once.
    public internal(set) var memlockLimit: UInt64
    public internal(set) var vmspace: VMSpace
    public internal(set) var lwps: [LWP] = []
    public internal(set) var exited = false
    /// Whether this image asked for MCL_FUTURE (mlockall(future) since its exec): what the
    /// map's flag must agree with.
    public internal(set) var futureWiringRequested = false

    init(name: String, pid: Int, uid: UInt32, memlockLimit: UInt64, vmspace: VMSpace) {
        self.name = name
        self.pid = pid
        self.uid = uid
        self.memlockLimit = memlockLimit
        self.vmspace = vmspace
    }

    /// The current image's map. A call that sleeps must keep the map (or vmspace) it started
    /// with: another thread's exec may replace the image meanwhile.
    public var map: VMMap { vmspace.map }
    public var description: String { "proc \(name) (pid \(pid))" }
}

/// A thread of a process; `kernel:` lines run on an LWP with no process.
public final class LWP: CustomStringConvertible {
    public let name: String
    /// l_proc. Unowned: the process owns its LWPs (`lwps`), and the kernel keeps every process,
    /// exited ones too, as long as itself.
    public unowned let proc: Proc?
    public let thread: SimThread

    init(name: String, proc: Proc?, thread: SimThread) {
        self.name = name
        self.proc = proc
        self.thread = thread
    }

    public var description: String { name }
}
