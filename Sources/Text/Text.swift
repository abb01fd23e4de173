import CICU
public enum TextInfo { public static var icuVersion: String { String(cString: mtl_icu_version()) } }
