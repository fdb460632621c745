// The answers a permission rule fixes, which neither the audit nor the reference model sees: a
// debugger let into a process it may not trace writes bytes the model simply records. Judged
// only for a call made outside `together` blocks, where nothing changes a process's
// credentials between the look before the call and the answer.
//
// Observes only: it reads the two processes' uids and set-id flags before the call.

import UVMKernel

/// ptrace(2) PT_READ_D / PT_WRITE_D by `caller` into `target` (ptrace_allowed and
/// ptrace_listener_cb, sys_ptrace_common.c): a process never traces itself (EINVAL, checked
/// first), and without privilege it may trace only a process of its own uid whose credentials
/// have not changed since its last exec (PK_SUGID), else EPERM. Whether the target exists and
/// lives (ESRCH) comes before both, and the address's own errors after, so only EPERM, and a
/// success where EPERM is due, are judged.
public struct PtraceOracle: AnswerJudgment {
    private let call: String
    private let callerName: String
    private let targetName: String
    /// Whether the rule demands EPERM; nil when an earlier check answers first.
    private let refused: Bool?

    public init(_ call: String, caller: Proc?, target: Proc?) {
        self.call = call
        callerName = caller?.name ?? "kernel"
        targetName = target?.name ?? "?"
        guard let caller, let target, !target.exited, target !== caller else {
            refused = nil
            return
        }
        refused = caller.uid != 0 && (caller.uid != target.uid || target.credentialsChanged)
    }

    public func judge(_ answer: Errno?) -> String? {
        guard let refused else { return nil }
        if refused && answer != .EPERM {
            return "\(call) of \(targetName) by \(callerName) answered \(answer.map { "\($0)" } ?? "ok"), yet it may not trace it (another uid or PK_SUGID, and no privilege): EPERM"
        }
        if !refused && answer == .EPERM {
            return "\(call) of \(targetName) by \(callerName) refused with EPERM, yet it may trace it"
        }
        return nil
    }
}
