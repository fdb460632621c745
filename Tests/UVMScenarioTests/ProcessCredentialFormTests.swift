// setrlimit memlock and setuid: a process's limit and uid changed at run time.

import Testing
@testable import UVMScenario

@Suite struct ProcessCredentialFormTests {
    @Test func forms() {
        #expect(operation("A: setrlimit memlock 4p")?.command == .setrlimitMemlock(Size(4, .pages)))
        #expect(operation("A: setuid 0")?.command == .setuid(0))
        #expect(failure("A: setrlimit stack 4p")?.message == "expected memlock after 'setrlimit', found 'stack'")
        #expect(failure("A: setuid 0x100000000")?.message == "expected a number up to 4294967295 as the uid for 'setuid', found '0x100000000'")
    }
}
