// The operation table and the generator: the table covers the language, the generator is
// deterministic, its scenarios parse, use every form, and keep the project's rules.

import Foundation
import Testing
@testable import UVMFuzz
@testable import UVMScenario
import UVMSched

@Test func theTableHasEveryOperationTheParserAccepts() {
    #expect(Set(OperationTable.keywords) == Set(CommandParser.names))
    // Forms are distinct, and each names its keyword first.
    let forms = OperationTable.operations.map(\.form)
    #expect(Set(forms).count == forms.count)
    for op in OperationTable.operations { #expect(op.form.hasPrefix(op.keyword)) }
}

@Test func theListingShowsEveryForm() {
    let listing = OperationTable.listing()
    for op in OperationTable.operations { #expect(listing.contains(op.synopsis)) }
    #expect(OperationTable.spec(form: "vslock")?.synopsis == "vslock RANGE [ACCESS]")
    #expect(OperationTable.spec(form: "vsunlock")?.releases == .vslockHandle)
}

@Test func theSameSeedGivesTheSameScenario() {
    for seed: UInt64 in [1, 2, 77, 123_456_789] {
        #expect(ScenarioGenerator.scenario(seed: seed) == ScenarioGenerator.scenario(seed: seed))
    }
    let texts = Set((1...50).map { ScenarioGenerator.scenario(seed: $0) })
    #expect(texts.count == 50)
}

@Test func aThousandSeedsParseAndTogetherUseEveryForm() throws {
    var used = Set<String>()
    for seed: UInt64 in 1...1000 {
        let text = ScenarioGenerator.scenario(seed: seed)
        let scenario = try ScenarioParser.parse(text, file: "seed\(seed).uvm")
        used.formUnion(Trial.forms(scenario).values)
        #expect(scenario.statements.contains { if case .together = $0.kind { true } else { false } })
    }
    #expect(used == Set(OperationTable.operations.map(\.form)))
}

/// Every vslock and loan handle is given back later by the thread that took it, no process
/// unmaps, execs or exits between taking a vslock and giving it back, and no other thread of the
/// block that gives a handle back uses it.
@Test func generatedHandlesAreGivenBackAndNeverUnmappedUnder() {
    for seed: UInt64 in 1...400 {
        let script = Script(ScenarioGenerator.scenario(seed: seed))
        expectNoHandleRacesItsRelease(script, "seed \(seed)")
        for (i, line) in script.lines.enumerated() {
            guard let form = Script.form(line), form == "vslock" || form == "loan", let handle = Script.definedName(line),
                  let actor = Script.actor(line) else { continue }
            let release = form == "vslock" ? "vsunlock" : "unloan"
            let j = script.lines.indices.first { $0 > i && Script.trimmed(script.lines[$0]) == "\(actor): \(release) \(handle)" }
            #expect(j != nil, "seed \(seed): \(handle) is never given back by \(actor)")
            guard form == "vslock", let j else { continue }
            let proc = script.lines.first { $0.hasPrefix("thread \(actor) in ") }.map { String($0.split(separator: " ")[3]) } ?? actor
            let threads = Set([proc] + script.lines.filter { $0.hasPrefix("thread ") && $0.hasSuffix(" in \(proc)") }
                .map { String($0.split(separator: " ")[1]) })
            for k in (i + 1)..<j {
                guard let a = Script.actor(script.lines[k]), threads.contains(a), let f = Script.form(script.lines[k]),
                      let spec = OperationTable.spec(form: f) else { continue }
                #expect(spec.effect == .none, "seed \(seed): \(script.lines[k]) while \(handle) is vslocked")
            }
        }
    }
}

private func expectNoHandleRacesItsRelease(_ script: Script, _ what: String) {
    for block in script.blocks {
        for i in block {
            guard Script.releases(script.lines[i]), let handle = Script.words(script.lines[i]).last else { continue }
            let users = block.filter { $0 != i && Script.words(script.lines[$0]).contains(handle) }
            #expect(users.isEmpty, "\(what): \(handle) used in the block that gives it back")
        }
    }
}

@Test func mutantsParseAndAreDeterministic() throws {
    let a = ScenarioGenerator.scenario(seed: 5), b = ScenarioGenerator.scenario(seed: 6)
    for seed: UInt64 in 1...60 {
        var m1 = Mutator(choices: Choices(seed: seed)), m2 = Mutator(choices: Choices(seed: seed))
        let mutant = m1.mutate(a, other: b)
        #expect(mutant == m2.mutate(a, other: b))
        _ = try ScenarioParser.parse(mutant, file: "mutant.uvm")
        expectNoHandleRacesItsRelease(Script(mutant), "mutant \(seed)")
    }
}

@Test func droppingABindingDropsEveryLineThatNamesIt() {
    let script = Script("""
        machine ram=16p
        proc p1
        p1: m1 = mmap anon 2p
        p1: h1 = vslock m1 1p
        together
          p1: dma h1 write 0x01
        end
        p1: vsunlock h1
        p1: load m1
        """)
    let without = script.removing(script.group(2))
    #expect(without.lines == ["machine ram=16p", "proc p1"])
    // A release is never dropped alone.
    #expect(!ScriptShrinker.droppableOperation(script, 7))
    #expect(ScriptShrinker.simplerArguments("  p1: h1 = vslock m1+1p 2p w").contains("  p1: h1 = vslock m1 2p w"))
    #expect(ScriptShrinker.simplerArguments("p1: h1 = vslock m1+1p 2p w").contains("p1: h1 = vslock m1+1p 2p"))
}

@Test func signaturesIgnoreNamesAndNumbers() {
    #expect(Signature.normalize("p2 exits with a vslock of 0x10000-0x12000 by p2t1 never vsunlocked at line 12")
            == "· exits with a vslock of ·-· by · never vsunlocked at line ·")
    #expect(Signature.normalize("busy page 3 of file f1") == "busy page · of file ·")
    #expect(Signature.normalize("deadlock: map lock") == "deadlock: map lock")
    let loss = KernelFailure(.dataLoss, "line 7: p1 reads 0x71 at 0x10001000, where 0x00 was written")
    #expect(Signature.of(loss, forms: [7: "load"]) == "data-loss: line load: · reads · at ·, where · was written")
    #expect(Signature.normalize("p1 returned from line 4 holding busy page 0, busy page 1, busy page 2")
            == Signature.normalize("p2t1 returned from line 6 holding busy page 1"))
}

@Test func theSiteListIsEverySometimesMarkerInTheKernel() throws {
    let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources")
    var markers = Set<String>()
    let files = try #require(FileManager.default.enumerator(atPath: sources.path))
    for case let file as String in files where file.hasSuffix(".swift") {
        let text = try String(contentsOfFile: sources.appendingPathComponent(file).path, encoding: .utf8)
        // `sometimes(CONDITION, "site")`, the condition sometimes on the line before the name.
        for match in text.matches(of: /\.sometimes\([^"]*?"([^"]+)"\)/) { markers.insert(String(match.1)) }
    }
    #expect(markers.count >= 10)
    #expect(markers == Set(KernelSites.all))
    var coverage = Coverage()
    coverage.note(site: "a wiring broke a loan")
    #expect(coverage.unreachedSites.count == KernelSites.all.count - 1)
    #expect(!coverage.unreachedSites.contains("a wiring broke a loan"))
}

/// Some machines give a shmseg of a few attachments, so shmat's EMFILE is within reach; the
/// setup, whose every line must succeed, never attaches past it (a fork's child starts with its
/// parent's attachments).
@Test func theSetupAttachesWithinShmseg() {
    var limited = 0
    for seed: UInt64 in 1...1000 {
        let lines = ScenarioGenerator.scenario(seed: seed).split(separator: "\n").map(String.init)
        guard let word = lines[0].split(separator: " ").first(where: { $0.hasPrefix("shmseg=") }),
              let shmSeg = Int(word.dropFirst("shmseg=".count)) else { continue }
        limited += 1
        var attached: [String: Int] = [:]
        for line in lines.prefix(while: { $0 != "together" }) {
            let words = line.split(separator: " ").map(String.init)
            guard words.count >= 4, words[0].hasSuffix(":"), words[2] == "=" else { continue }
            let proc = String(words[0].dropLast())
            if words[3] == "shmat" { attached[proc, default: 0] += 1 }
            if words[3] == "fork" { attached[words[1]] = attached[proc] ?? 0 }
        }
        for (proc, n) in attached { #expect(n <= shmSeg, "seed \(seed): \(proc) attaches \(n) times under shmseg=\(shmSeg)") }
    }
    #expect(limited > 50, "only \(limited) of 1,000 machines give a shmseg")
}
