// The `--json` result of `run`, `replay`, `show` (and explore's failure): one JSON document per
// run, its facts as fields — each line's result, the timeline's events, the state as objects —
// as docs/json.md describes them.

import Foundation
import UVMCore

public enum RunJSON {
    /// The document for `report` of `file`. `replay` is the command that reproduces it; `extra`
    /// adds fields of the command that ran it (explore's schedule count).
    public static func document(file: String, report: RunReport, replay: String? = nil, extra: [String: Any] = [:]) -> String {
        text(object(file: file, report: report, replay: replay, extra: extra))
    }

    /// The same document as an object, for a command that prints several in one (explore).
    public static func object(file: String, report: RunReport, replay: String? = nil, extra: [String: Any] = [:]) -> [String: Any] {
        var d: [String: Any] = ["file": file, "exitCode": Int(report.outcome.exitCode), "summary": report.outcome.summary,
                                "token": report.token, "steps": report.steps, "decisions": report.decisions, "threads": report.threads]
        switch report.outcome {
        case .pass:
            d["outcome"] = "PASS"
        case .fail(let line, let expected, let got):
            d["outcome"] = "FAIL"
            d["line"] = line
            d["expected"] = expected
            d["got"] = got
        case .bug(let f):
            d["outcome"] = "BUG"
            d["kind"] = f.kind.rawValue
            d["message"] = f.message
            d["details"] = f.details
        case .stopped(let reached):
            d["outcome"] = "STOPPED"
            d["limit"] = reached.description
        }
        if let replay { d["replay"] = replay }
        d["lines"] = report.lines.map(lineObject)
        if let t = report.timeline {
            d["timeline"] = ["threads": t.threads, "events": t.events.map { event($0, t.threads) }]
        }
        let states = report.snapshots.compactMap { $0 }.map(state)
        if !states.isEmpty { d["states"] = states }
        if report.snapshots.count == 2, let a = report.snapshots[0], let b = report.snapshots[1] { d["diff"] = Show.diff(a, b) }
        for (k, v) in extra { d[k] = v }
        return d
    }

    /// `value` as compact JSON with sorted keys (the same run gives the same bytes).
    public static func text(_ value: Any) -> String {
        guard JSONSerialization.isValidJSONObject(value),
              let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return #"{"outcome":"ERROR","error":"not representable as JSON"}"#
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// "12: A: truncate db 0 -> ok" as {line, text, result}.
    static func lineObject(_ l: String) -> [String: Any] {
        guard let colon = l.firstIndex(of: ":"), let n = Int(l[..<colon]) else { return ["text": l] }
        let rest = l[l.index(after: colon)...].drop { $0 == " " }
        guard let arrow = rest.range(of: " -> ", options: .backwards) else { return ["line": n, "text": String(rest)] }
        return ["line": n, "text": String(rest[..<arrow.lowerBound]), "result": String(rest[arrow.upperBound...])]
    }

    static func event(_ e: Timeline.Event, _ threads: [String]) -> [String: Any] {
        var o: [String: Any] = ["step": e.step, "thread": e.thread < threads.count ? threads[e.thread] : "\(e.thread)"]
        switch e.kind {
        case .begin(let line, let text):
            o["event"] = "begin"; o["line"] = line; o["text"] = text
        case .end(let line, let result, let failed):
            o["event"] = "end"; o["line"] = line; o["result"] = result; o["failed"] = failed
        case .step(let reason, let note):
            o["event"] = "step"; o["reason"] = reason; o["note"] = note
        case .blocked(let on, let heldBy):
            o["event"] = "blocked"; o["on"] = on; o["heldBy"] = heldBy
        case .preempted(let by):
            o["event"] = "preempted"; o["by"] = by
        case .resumed:
            o["event"] = "resumed"
        case .failed(let kind):
            o["event"] = "failed"; o["kind"] = kind
        }
        return o
    }

    static func page(_ p: PageView?) -> Any {
        guard let p else { return NSNull() }
        return ["frame": p.pfn, "fictitious": p.fictitious, "busy": p.busy ?? NSNull(), "wanted": p.wanted,
                "wireCount": p.wireCount, "loanCount": p.loanCount, "released": p.released, "dirty": p.dirty,
                "mappings": p.mappings, "generation": Int(p.generation), "free": p.isFree]
    }

    static func backing(_ b: PageBacking) -> [String: Any] {
        switch b {
        case .untouched: ["layer": "untouched"]
        case .device: ["layer": "device"]
        case .anon(let serial, let pg, let swapSlot): ["layer": "anon", "anon": serial, "page": page(pg), "swapSlot": swapSlot ?? NSNull()]
        case .object(let name, let index, let pg): ["layer": "object", "object": name, "index": Int(index), "page": page(pg)]
        }
    }

    /// A snapshot as objects: what `uvm show` prints, field by field.
    static func state(_ s: StateSnapshot) -> [String: Any] {
        [
            "moment": s.moment, "step": s.step, "policy": s.policy,
            "threads": s.threads.map { t -> [String: Any] in
                ["name": t.name, "state": t.state, "line": t.line ?? NSNull(), "text": t.lineText,
                 "blockedOn": t.blockedOn ?? NSNull(), "heldBy": t.heldBy, "locks": t.locks]
            },
            "processes": s.processes.map { p -> [String: Any] in
                ["name": p.name, "pid": p.pid, "exited": p.exited, "futureWiring": p.futureWiring, "wiredPages": p.wiredPages,
                 "entries": p.entries.map { e -> [String: Any] in
                     ["start": hex(e.start), "end": hex(e.end), "protection": e.protection, "maxProtection": e.maxProtection,
                      "inheritance": e.inheritance, "resident": e.resident, "flags": e.flags, "object": e.object ?? NSNull(),
                      "offset": hex(e.offset), "amap": e.amap ?? NSNull(), "amapSlot": e.amapSlot, "userWired": e.userWired,
                      "systemWirings": e.systemWirings, "pages": e.pages.map(backing)]
                 }]
            },
            "amaps": s.amaps.map { a -> [String: Any] in
                ["serial": a.serial, "refs": a.refs, "shared": a.shared, "slots": a.slots.map { slot -> [String: Any] in
                    ["slot": slot.slot, "anon": slot.anon, "refs": slot.refs, "page": page(slot.page), "swapSlot": slot.swapSlot ?? NSNull()]
                }]
            },
            "objects": s.objects.map { o -> [String: Any] in
                ["name": o.name, "kind": o.kind, "refs": o.refs, "pages": o.pages.map { p -> [String: Any] in
                    ["index": Int(p.index), "page": page(p.page), "swapSlot": p.swapSlot ?? NSNull()]
                }]
            },
            "vslocks": s.holds.map { h -> [String: Any] in
                ["thread": h.thread, "start": hex(h.start), "end": hex(h.end), "access": h.access, "holdsPages": h.holdsPages,
                 "released": h.released, "captured": h.pages.map { ["page": page($0.page), "generation": Int($0.generation), "reused": $0.reused] }]
            },
            "unowned": s.unowned.map { page($0) },
            "physical": ["managed": s.physical.managed, "free": s.physical.free, "active": s.physical.active,
                         "inactive": s.physical.inactive, "wired": s.physical.wired, "wiredMax": s.physical.wiredMax,
                         "busy": s.physical.busy, "loaned": s.physical.loaned, "released": s.physical.released,
                         "swapUsed": s.physical.swapUsed, "swapSlots": s.physical.swapSlots],
            "counters": Dictionary(uniqueKeysWithValues: s.counters.map { ($0.name, $0.value) }),
        ]
    }
}
