import Testing
@testable import Text
@Test func icuVersion() { #expect(!TextInfo.icuVersion.isEmpty) }
