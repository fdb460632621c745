// errno values, by their BSD names, and the signals a user access can raise.

import UVMCore

/// A system call's error, with NetBSD's name and number.
public enum Errno: Int32, Error, Sendable, CaseIterable {
    case EPERM = 1, ENOENT = 2, ESRCH = 3, EIO = 5, E2BIG = 7, EBADF = 9, EAGAIN = 35
    case ENOMEM = 12, EACCES = 13, EFAULT = 14, EBUSY = 16, EEXIST = 17, EINVAL = 22
    case EMFILE = 24, EFBIG = 27, ENOSPC = 28, EIDRM = 82, EOVERFLOW = 84, ENOTSUP = 86

    /// The BSD name, as scenarios print it: "EINVAL".
    public var name: String { String(describing: self) }
}

/// A signal delivered to the thread by a user access.
public enum Signal: String, Error, Sendable {
    case SIGSEGV, SIGBUS, SIGKILL
}

extension Errno {
    /// The errno a system call returns for a pager failure.
    init(_ e: any Error) {
        switch e as? PagerError {
        case .io?: self = .EIO
        case .noMemory?: self = .ENOMEM
        case .pastEOF?: self = .EINVAL
        case nil: self = e as? Errno ?? .EIO
        }
    }
}
