// The fuzzer's files: the corpus (scenarios that reached new coverage) and the reproducers (one
// shrunk scenario per distinct BUG, with a header that says how to replay it). Every file is
// written to a temporary name and renamed, so a campaign killed half-way (a Swift trap in the
// kernel is one way) never leaves half a file, and shards sharing a directory never collide.

import Foundation
import UVMSched

enum FuzzFiles {
    static func ensureDirectory(_ path: String) throws(FuzzError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw FuzzError("\(path): cannot create the directory (\(error.localizedDescription))")
        }
    }

    /// Writes `text` to `path` through a temporary file in the same directory and a rename.
    static func writeAtomically(_ text: String, to path: String) throws(FuzzError) {
        let dir = (path as NSString).deletingLastPathComponent
        let temp = (dir.isEmpty ? "." : dir) + "/.tmp-\(ProcessInfo.processInfo.processIdentifier)-" + (path as NSString).lastPathComponent
        guard FileManager.default.createFile(atPath: temp, contents: Data(text.utf8)) else {
            throw FuzzError("\(temp): cannot write")
        }
        guard rename(temp, path) == 0 else { throw FuzzError("\(path): cannot rename \(temp) to it") }
    }

    /// The `.uvm` files of a directory, sorted, as (path, text); none if it does not exist.
    static func scenarios(in dir: String) -> [(path: String, text: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasSuffix(".uvm") && !$0.hasPrefix(".") }.sorted().compactMap { name in
            let path = dir + "/" + name
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else { return nil }
            return (path, text)
        }
    }

    /// FNV-1a of the text: corpus files are named by their content, so equal scenarios merge.
    static func hash(_ text: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let s = String(h, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    /// A header field of a reproducer: `# signature: ...`.
    static func header(_ field: String, in text: String) -> String? {
        let prefix = "# \(field): "
        return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }
}

public struct FuzzError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// `uvm fuzz --merge`: the reproducers and corpora of several campaigns (shards, machines) in
/// one: one reproducer per signature, one corpus file per distinct scenario.
public enum FuzzMerge {
    public struct Counts: Sendable {
        public var reproducers = 0
        public var crashes = 0
        public var corpus = 0
    }

    /// Each of `dirs` is a campaign's `--out` (reproducers, and its corpus under `corpus/`) or a
    /// corpus directory.
    public static func merge(_ dirs: [String], out: String, corpus: String?) throws(FuzzError) -> Counts {
        let corpusDir = corpus ?? out + "/corpus"
        try FuzzFiles.ensureDirectory(out)
        try FuzzFiles.ensureDirectory(corpusDir)
        var signatures = Set(FuzzFiles.scenarios(in: out).compactMap { FuzzFiles.header("signature", in: $0.text) })
        var counts = Counts()
        for dir in dirs {
            guard FileManager.default.fileExists(atPath: dir) else { throw FuzzError("\(dir): no such directory") }
            for (path, text) in FuzzFiles.scenarios(in: dir) + FuzzFiles.scenarios(in: dir + "/corpus") {
                if let signature = FuzzFiles.header("signature", in: text) {
                    guard signatures.insert(signature).inserted else { continue }
                    try FuzzFiles.writeAtomically(text, to: out + "/" + (path as NSString).lastPathComponent)
                    counts.reproducers += 1
                } else if (path as NSString).lastPathComponent.hasPrefix("crash-") {
                    // A scenario a campaign died on: kept beside the reproducers, named by its hash.
                    let target = out + "/" + (path as NSString).lastPathComponent
                    guard !FileManager.default.fileExists(atPath: target) else { continue }
                    try FuzzFiles.writeAtomically(text, to: target)
                    counts.crashes += 1
                } else {
                    let target = corpusDir + "/\(FuzzFiles.hash(text)).uvm"
                    guard !FileManager.default.fileExists(atPath: target) else { continue }
                    try FuzzFiles.writeAtomically(text, to: target)
                    counts.corpus += 1
                }
            }
        }
        return counts
    }

    /// `uvm fuzz --coverage DIR`: the union of what the corpus's scenarios reach.
    @Sim
    public static func coverage(of dir: String, policy: [(knob: String, value: String)], schedules: Int) async -> (Coverage, Int) {
        let trial = Trial(policy: policy)
        var total = Coverage()
        let files = FuzzFiles.scenarios(in: dir)
        for (_, text) in files { total.merge(await trial.explore(text, seed: 1, schedules: schedules).coverage) }
        return (total, files.count)
    }
}
