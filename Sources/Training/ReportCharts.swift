import Foundation

// Number formatting and the inline SVG charts of the run report (drawn here: no JavaScript
// charting library, so the page needs nothing from the network and renders the same everywhere).

// MARK: - Formatting

enum Fmt {
    static func f4(_ x: Double) -> String { x.isFinite ? String(format: "%.4f", x) : "–" }
    /// A tick label: as few digits as the step needs.
    static func tick(_ x: Double, step: Double) -> String {
        if x == 0 { return "0" }
        let a = abs(x)
        if a >= 1e5 || a < 1e-4 { return String(format: "%.1e", x) }
        var digits = max(0, Int(-floor(log10(step))))
        let scaled = step * pow(10, Double(digits))
        if abs(scaled - scaled.rounded()) > 1e-6 { digits += 1 }
        return String(format: "%.\(min(digits, 8))f", x)
    }
    static func int(_ n: Int64) -> String {
        let s = String(n.magnitude)
        var out = ""
        for (i, c) in s.reversed().enumerated() { if i > 0 && i % 3 == 0 { out.append(",") }; out.append(c) }
        return (n < 0 ? "-" : "") + String(out.reversed())
    }
    static func int(_ n: Int) -> String { int(Int64(n)) }
    /// A value for a data attribute: the shortest text that reads back as the same Double.
    static func exact(_ x: Double) -> String { "\(x)" }
    static func seconds(_ s: Double) -> String {
        if s < 60 { return String(format: "%.1f s", s) }
        if s < 3600 { return String(format: "%d min %02d s", Int(s) / 60, Int(s) % 60) }
        return String(format: "%d h %02d min", Int(s) / 3600, Int(s) % 3600 / 60)
    }
}

func esc(_ s: String) -> String {
    var o = ""
    o.reserveCapacity(s.utf8.count)
    for c in s.unicodeScalars {
        switch c {
        case "&": o += "&amp;"
        case "<": o += "&lt;"
        case ">": o += "&gt;"
        case "\"": o += "&quot;"
        case "'": o += "&#39;"
        default: o.unicodeScalars.append(c)
        }
    }
    return o
}

// MARK: - SVG charts

enum Chart {
    static let palette = ["#4e79a7", "#f28e2b", "#e15759", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#4b4b8f"]
    static func color(_ i: Int) -> String { palette[i % palette.count] }

    /// Ticks at 1, 2 or 5 × 10^k covering [lo, hi].
    static func ticks(_ lo: Double, _ hi: Double, count: Int = 5, integer: Bool = false) -> (values: [Double], step: Double) {
        let span = hi - lo
        guard span > 0, span.isFinite else { return ([lo], 1) }
        let raw = span / Double(count)
        let mag = pow(10, floor(log10(raw)))
        var step = (integer ? [1.0, 2, 5, 10] : [1.0, 2, 2.5, 5, 10]).map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        if integer { step = max(1, step.rounded()) }
        var v: [Double] = []
        var x = (lo / step).rounded(.up) * step
        while x <= hi + step * 1e-9 { v.append(abs(x) < step * 1e-9 ? 0 : x); x += step }
        return (v, step)
    }

    /// A range padded to tick boundaries.
    static func niceRange(_ lo: Double, _ hi: Double, zero: Bool = false, unit: Bool = false) -> (Double, Double) {
        var a = zero ? min(0, lo) : lo, b = hi
        if unit { a = max(0, a); b = min(1, b) }
        if b <= a { let p = a == 0 ? 1 : abs(a) * 0.1; a -= unit ? min(p, a) : p; b += p }
        let (_, step) = ticks(a, b)
        var l = (a / step).rounded(.down) * step, h = (b / step).rounded(.up) * step
        if unit { l = max(0, l); h = min(1, h); if h <= l { h = min(1, l + step) } }
        return (l, h)
    }

    struct Line {
        var name: String
        var color: String
        var points: [(x: Double, y: Double)]
        /// Draw a dot at every point (evaluations); the dots carry data attributes for the values.
        var markers = false
        var width = 1.8
        var dashed = false
        /// Data attributes of each marker: (attribute, value) pairs beyond data-x/data-y.
        var attributes: [(String, String)] = []
        /// Tooltip label: "step 30: sentiment accuracy".
        var tooltip: String = ""
        var opacity = 1.0
        /// Left out of the legend (a faint raw line under its smoothed one).
        var inLegend = true
        /// The legend's value (default: the last point's).
        var lastValue: Double?
    }

    struct Mark {
        var x: Double
        var label: String
        var kind: String  // "selected", "epoch", "resume"
    }

    /// A line chart with axes, grid, tick labels, axis titles, a legend, the last value of each
    /// line labelled, vertical marks, and (for `highlight`) each line's value at that x labelled.
    static func lines(id: String, title: String, lines: [Line], xLabel: String, yLabel: String, yUnit: Bool = false, yZero: Bool = false,
                      marks: [Mark] = [], highlight: Double? = nil, width: Double = 860, height: Double = 300) -> String {
        let all = lines.flatMap(\.points)
        guard !all.isEmpty else { return "" }
        let left = 80.0, right = 150.0, top = 40.0, bottom = 46.0
        let pw = width - left - right, ph = height - top - bottom
        var x0 = all.map(\.x).min()!, x1 = all.map(\.x).max()!
        if x1 <= x0 { x0 -= 1; x1 += 1 }
        let lo = all.map(\.y).min()!, hi = all.map(\.y).max()!, pad = (hi - lo) * 0.06
        let (y0, y1) = niceRange(yZero ? lo : lo - pad, hi + pad, zero: yZero, unit: yUnit)
        func X(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * pw }
        func Y(_ y: Double) -> Double { top + ph - (y - y0) / (y1 - y0) * ph }
        func n(_ v: Double) -> String { String(format: "%.1f", v) }
        var s = "<figure class=\"chart-box\"><figcaption>\(esc(title))</figcaption>"
        s += "<svg class=\"chart\" id=\"\(esc(id))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(esc(title))\">"
        // Grid and y ticks.
        let yt = ticks(y0, y1)
        for v in yt.values {
            s += "<line class=\"grid\" x1=\"\(n(left))\" x2=\"\(n(left + pw))\" y1=\"\(n(Y(v)))\" y2=\"\(n(Y(v)))\"/>"
            s += "<text class=\"tick\" x=\"\(n(left - 6))\" y=\"\(n(Y(v) + 4))\" text-anchor=\"end\">\(Fmt.tick(v, step: yt.step))</text>"
        }
        let xt = ticks(x0, x1, count: 8, integer: true)
        for v in xt.values {
            s += "<line class=\"xtick\" x1=\"\(n(X(v)))\" x2=\"\(n(X(v)))\" y1=\"\(n(top + ph))\" y2=\"\(n(top + ph + 5))\"/>"
            s += "<text class=\"tick\" x=\"\(n(X(v)))\" y=\"\(n(top + ph + 18))\" text-anchor=\"middle\">\(Fmt.tick(v, step: max(xt.step, 1)))</text>"
        }
        s += "<line class=\"axis\" x1=\"\(n(left))\" x2=\"\(n(left + pw))\" y1=\"\(n(top + ph))\" y2=\"\(n(top + ph))\"/>"
        s += "<line class=\"axis\" x1=\"\(n(left))\" x2=\"\(n(left))\" y1=\"\(n(top))\" y2=\"\(n(top + ph))\"/>"
        s += "<text class=\"axis-title\" x=\"\(n(left + pw / 2))\" y=\"\(n(height - 8))\" text-anchor=\"middle\">\(esc(xLabel))</text>"
        s += "<text class=\"axis-title\" transform=\"translate(16 \(n(top + ph / 2))) rotate(-90)\" text-anchor=\"middle\">\(esc(yLabel))</text>"
        // Vertical marks (epochs, resumes, the selected checkpoint).
        for m in marks where m.x >= x0 && m.x <= x1 {
            s += "<line class=\"mark \(m.kind)\" x1=\"\(n(X(m.x)))\" x2=\"\(n(X(m.x)))\" y1=\"\(n(top))\" y2=\"\(n(top + ph))\"><title>\(esc(m.label))</title></line>"
            if m.kind == "selected" {
                s += "<text class=\"mark-label selected\" data-selected-step=\"\(Int(m.x))\" x=\"\(n(X(m.x) - left < 140 ? X(m.x) + 4 : X(m.x) - 4))\" y=\"\(n(top - 8))\" text-anchor=\"\(X(m.x) - left < 140 ? "start" : "end")\">\(esc(m.label))</text>"
            } else if m.kind == "epoch" {
                s += "<text class=\"mark-label\" x=\"\(n(X(m.x) + 2))\" y=\"\(n(top + 10))\">\(esc(m.label))</text>"
            }
        }
        // Lines.
        var endLabels: [(y: Double, text: String, color: String, name: String)] = []
        var valueLabels: [(y: Double, x: Double, text: String, color: String, name: String)] = []
        for l in lines where !l.points.isEmpty {
            let d = l.points.map { "\(n(X($0.x))),\(n(Y($0.y)))" }.joined(separator: " ")
            s += "<polyline class=\"series\(l.inLegend ? "" : " raw")\" data-series=\"\(esc(l.name))\" points=\"\(d)\" fill=\"none\" stroke=\"\(l.color)\" stroke-width=\"\(l.width)\"\(l.opacity < 1 ? " stroke-opacity=\"\(l.opacity)\"" : "")\(l.dashed ? " stroke-dasharray=\"5 3\"" : "")/>"
            if l.markers {
                for p in l.points {
                    let isHighlight = highlight == p.x
                    s += "<circle class=\"point\(isHighlight ? " selected" : "")\" cx=\"\(n(X(p.x)))\" cy=\"\(n(Y(p.y)))\" r=\"\(isHighlight ? 5.5 : 3.2)\" fill=\"\(isHighlight ? "#fff" : l.color)\" stroke=\"\(l.color)\" stroke-width=\"\(isHighlight ? 2.5 : 1)\""
                    s += " data-series=\"\(esc(l.name))\" data-x=\"\(Fmt.exact(p.x))\" data-value=\"\(Fmt.exact(p.y))\""
                    for (k, v) in l.attributes { s += " \(k)=\"\(esc(v))\"" }
                    s += "><title>\(esc(l.tooltip.isEmpty ? l.name : l.tooltip)) at \(Fmt.tick(p.x, step: 1)): \(Fmt.f4(p.y))</title></circle>"
                    if isHighlight { valueLabels.append((Y(p.y) - 7, X(p.x), Fmt.f4(p.y), l.color, l.name)) }
                }
            }
            guard l.inLegend else { continue }
            let lastPoint = l.points.last!
            endLabels.append((Y(lastPoint.y), Fmt.f4(l.lastValue ?? lastPoint.y), l.color, l.name))
        }
        // The highlighted values, kept 13 px apart.
        valueLabels.sort { $0.y < $1.y }
        var lastY = top + 1   // below the selected mark's label
        for v in valueLabels {
            let y = max(v.y, lastY + 13)
            lastY = y
            // Left of the point when it is near the right edge (the legend is there).
            let nearRight = v.x > left + pw - 70
            s += "<text class=\"value selected\" data-series=\"\(esc(v.name))\" x=\"\(n(nearRight ? v.x - 9 : v.x + 8))\" y=\"\(n(y))\"\(nearRight ? " text-anchor=\"end\"" : "") fill=\"\(v.color)\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">\(v.text)</text>"
        }
        // Legend at the right, in the order of the lines' last values, kept apart.
        endLabels.sort { $0.y < $1.y }
        var placed: [Double] = []
        for e in endLabels {
            var y = max(top + 4, e.y)
            if let p = placed.last, y < p + 26 { y = p + 26 }
            placed.append(y)
        }
        if let last = placed.last, last > top + ph + 20 {
            let shift = last - (top + ph + 20)
            placed = placed.map { $0 - shift }
        }
        for (e, y) in zip(endLabels, placed) {
            s += "<line x1=\"\(n(left + pw + 4))\" x2=\"\(n(left + pw + 16))\" y1=\"\(n(y))\" y2=\"\(n(y))\" stroke=\"\(e.color)\" stroke-width=\"3\"/>"
            s += "<text class=\"legend\" x=\"\(n(left + pw + 20))\" y=\"\(n(y - 2))\">\(esc(e.name))</text>"
            s += "<text class=\"value last\" data-series=\"\(esc(e.name))\" x=\"\(n(left + pw + 20))\" y=\"\(n(y + 11))\" fill=\"\(e.color)\">\(e.text)</text>"
        }
        s += "</svg></figure>"
        return s
    }

    /// Horizontal bars: per item a target bar and a realized bar, each labelled with its value.
    static func shares(id: String, title: String, items: [(label: String, target: Double, realized: Double, note: String)], color: String) -> String {
        guard !items.isEmpty else { return "" }
        let width = 860.0, labelW = 170.0, barMax = 520.0, rowH = 40.0, top = 30.0
        let height = top + rowH * Double(items.count) + 10
        func n(_ v: Double) -> String { String(format: "%.1f", v) }
        let maxShare = max(items.map { max($0.target, $0.realized) }.max() ?? 1, 1e-9)
        let scale = barMax / max(maxShare, 0.05)
        var s = "<figure class=\"chart-box\"><figcaption>\(esc(title))</figcaption>"
        s += "<svg class=\"chart\" id=\"\(esc(id))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(esc(title))\">"
        s += "<rect x=\"\(n(labelW))\" y=\"8\" width=\"12\" height=\"10\" fill=\"#c9c9c9\"/><text class=\"legend\" x=\"\(n(labelW + 16))\" y=\"17\">target</text>"
        s += "<rect x=\"\(n(labelW + 70))\" y=\"8\" width=\"12\" height=\"10\" fill=\"\(color)\"/><text class=\"legend\" x=\"\(n(labelW + 86))\" y=\"17\">realized</text>"
        for (i, it) in items.enumerated() {
            let y = top + Double(i) * rowH
            s += "<text class=\"bar-label\" x=\"\(n(labelW - 8))\" y=\"\(n(y + 20))\" text-anchor=\"end\">\(esc(it.label))</text>"
            if !it.note.isEmpty { s += "<text class=\"tick\" x=\"\(n(labelW - 8))\" y=\"\(n(y + 33))\" text-anchor=\"end\">\(esc(it.note))</text>" }
            let tw = it.target * scale, rw = it.realized * scale
            s += "<rect class=\"bar target\" x=\"\(n(labelW))\" y=\"\(n(y + 4))\" width=\"\(n(tw))\" height=\"14\" fill=\"#c9c9c9\" data-label=\"\(esc(it.label))\" data-value=\"\(Fmt.exact(it.target))\"><title>\(esc(it.label)) target \(Fmt.f4(it.target))</title></rect>"
            s += "<text class=\"value target\" x=\"\(n(labelW + tw + 6))\" y=\"\(n(y + 15))\" data-label=\"\(esc(it.label))\">\(Fmt.f4(it.target))</text>"
            s += "<rect class=\"bar realized\" x=\"\(n(labelW))\" y=\"\(n(y + 19))\" width=\"\(n(rw))\" height=\"14\" fill=\"\(color)\" data-label=\"\(esc(it.label))\" data-value=\"\(Fmt.exact(it.realized))\"><title>\(esc(it.label)) realized \(Fmt.f4(it.realized))</title></rect>"
            s += "<text class=\"value realized\" x=\"\(n(labelW + rw + 6))\" y=\"\(n(y + 30))\" data-label=\"\(esc(it.label))\">\(Fmt.f4(it.realized))</text>"
        }
        s += "<line class=\"axis\" x1=\"\(n(labelW))\" x2=\"\(n(labelW))\" y1=\"\(n(top))\" y2=\"\(n(height - 6))\"/>"
        s += "</svg></figure>"
        return s
    }

    /// A confusion matrix as a heat map: rows gold, columns predicted, each cell's count written
    /// in it and shaded by its share of the row (recall on the diagonal).
    static func confusion(id: String, title: String, labels: [String], matrix: [[Int]]) -> String {
        let k = labels.count
        guard k > 0, matrix.count == k else { return "" }
        let cell = max(22.0, min(56.0, 600.0 / Double(k)))
        let maxLabel = Double(labels.map(\.count).max() ?? 1)
        let labelW = min(180, 14 + 7 * maxLabel)
        let rotate = k > 5 || maxLabel > 6
        let colH = rotate ? min(150, 14 + 5.2 * maxLabel) : 22
        let left = labelW + 30, top = colH + 28
        let width = left + cell * Double(k) + 20, height = top + cell * Double(k) + 20
        func n(_ v: Double) -> String { String(format: "%.1f", v) }
        var s = "<figure class=\"chart-box heat\"><figcaption>\(esc(title))</figcaption>"
        s += "<svg class=\"chart\" id=\"\(esc(id))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" style=\"max-width:\(Int(width))px\" role=\"img\" aria-label=\"\(esc(title))\">"
        s += "<text class=\"axis-title\" x=\"\(n(left + cell * Double(k) / 2))\" y=\"12\" text-anchor=\"middle\">predicted</text>"
        s += "<text class=\"axis-title\" transform=\"translate(12 \(n(top + cell * Double(k) / 2))) rotate(-90)\" text-anchor=\"middle\">gold</text>"
        for (j, l) in labels.enumerated() {
            let x = left + cell * (Double(j) + 0.5)
            if rotate {
                s += "<text class=\"tick\" transform=\"translate(\(n(x + 4)) \(n(top - 6))) rotate(-50)\">\(esc(l))</text>"
            } else {
                s += "<text class=\"tick\" x=\"\(n(x))\" y=\"\(n(top - 8))\" text-anchor=\"middle\">\(esc(l))</text>"
            }
        }
        for (i, row) in matrix.enumerated() {
            let y = top + cell * Double(i)
            s += "<text class=\"tick\" x=\"\(n(left - 6))\" y=\"\(n(y + cell / 2 + 4))\" text-anchor=\"end\">\(esc(labels[i]))</text>"
            let total = max(row.reduce(0, +), 1)
            for (j, c) in row.enumerated() where j < k {
                let v = Double(c) / Double(total)
                let fill = heat(v)
                s += "<rect class=\"cell\" x=\"\(n(left + cell * Double(j)))\" y=\"\(n(y))\" width=\"\(n(cell - 1))\" height=\"\(n(cell - 1))\" fill=\"\(fill)\" data-gold=\"\(esc(labels[i]))\" data-predicted=\"\(esc(labels[j]))\" data-count=\"\(c)\"><title>gold \(esc(labels[i])), predicted \(esc(labels[j])): \(c) (\(String(format: "%.1f", v * 100))% of the row)</title></rect>"
                if cell >= 22 {
                    s += "<text class=\"cell-count\" x=\"\(n(left + cell * Double(j) + cell / 2))\" y=\"\(n(y + cell / 2 + 4))\" text-anchor=\"middle\" fill=\"\(v > 0.55 ? "#fff" : "#222")\">\(c)</text>"
                }
            }
        }
        s += "</svg></figure>"
        return s
    }

    /// White to blue.
    static func heat(_ v: Double) -> String {
        let t = max(0, min(1, v))
        let (r0, g0, b0) = (247.0, 251.0, 255.0), (r1, g1, b1) = (8.0, 69.0, 148.0)
        func c(_ a: Double, _ b: Double) -> Int { Int((a + (b - a) * pow(t, 0.8)).rounded()) }
        return String(format: "#%02x%02x%02x", c(r0, r1), c(g0, g1), c(b0, b1))
    }

    /// Per group: each fold's value as a dot, the mean as a bar, ± std as a whisker.
    static func foldDots(id: String, title: String, rows: [(label: String, values: [(fold: Int, value: Double)], mean: Double, std: Double, winner: Bool)]) -> String {
        let all = rows.flatMap { $0.values.map(\.value) + [$0.mean - $0.std, $0.mean + $0.std] }.filter(\.isFinite)
        guard !all.isEmpty else { return "" }
        let width = 860.0, labelW = 200.0, right = 170.0, rowH = 44.0, top = 16.0, bottom = 40.0
        let pw = width - labelW - right
        let height = top + rowH * Double(rows.count) + bottom
        let (x0, x1) = niceRange(all.min()!, all.max()!, unit: all.allSatisfy { $0 >= 0 && $0 <= 1 })
        func X(_ x: Double) -> Double { labelW + (x - x0) / (x1 - x0) * pw }
        func n(_ v: Double) -> String { String(format: "%.1f", v) }
        var s = "<figure class=\"chart-box\"><figcaption>\(esc(title))</figcaption>"
        s += "<svg class=\"chart\" id=\"\(esc(id))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(esc(title))\">"
        let xt = ticks(x0, x1)
        let axisY = top + rowH * Double(rows.count)
        for v in xt.values {
            s += "<line class=\"grid\" x1=\"\(n(X(v)))\" x2=\"\(n(X(v)))\" y1=\"\(n(top))\" y2=\"\(n(axisY))\"/>"
            s += "<text class=\"tick\" x=\"\(n(X(v)))\" y=\"\(n(axisY + 16))\" text-anchor=\"middle\">\(Fmt.tick(v, step: xt.step))</text>"
        }
        s += "<line class=\"axis\" x1=\"\(n(labelW))\" x2=\"\(n(labelW + pw))\" y1=\"\(n(axisY))\" y2=\"\(n(axisY))\"/>"
        s += "<text class=\"axis-title\" x=\"\(n(labelW + pw / 2))\" y=\"\(n(height - 6))\" text-anchor=\"middle\">aggregate per fold (dots), mean ± std (bar)</text>"
        for (i, r) in rows.enumerated() {
            let y = top + rowH * (Double(i) + 0.5)
            let color = r.winner ? "#e15759" : "#4e79a7"
            s += "<text class=\"bar-label\(r.winner ? " winner" : "")\" x=\"\(n(labelW - 10))\" y=\"\(n(y + 4))\" text-anchor=\"end\">\(r.winner ? "★ " : "")\(esc(r.label))</text>"
            if r.mean.isFinite {
                if r.std.isFinite && r.std > 0 {
                    s += "<line x1=\"\(n(X(r.mean - r.std)))\" x2=\"\(n(X(r.mean + r.std)))\" y1=\"\(n(y))\" y2=\"\(n(y))\" stroke=\"\(color)\" stroke-width=\"2\"/>"
                    for e in [r.mean - r.std, r.mean + r.std] {
                        s += "<line x1=\"\(n(X(e)))\" x2=\"\(n(X(e)))\" y1=\"\(n(y - 6))\" y2=\"\(n(y + 6))\" stroke=\"\(color)\" stroke-width=\"2\"/>"
                    }
                }
                s += "<rect x=\"\(n(X(r.mean) - 2))\" y=\"\(n(y - 11))\" width=\"4\" height=\"22\" fill=\"\(color)\" data-mean=\"\(Fmt.exact(r.mean))\"><title>mean \(Fmt.f4(r.mean)) ± \(Fmt.f4(r.std))</title></rect>"
                s += "<text class=\"value\" x=\"\(n(labelW + pw + 10))\" y=\"\(n(y + 4))\" fill=\"\(color)\">\(Fmt.f4(r.mean)) ± \(Fmt.f4(r.std))</text>"
            }
            for v in r.values {
                s += "<circle cx=\"\(n(X(v.value)))\" cy=\"\(n(y))\" r=\"4.5\" fill=\"\(color)\" fill-opacity=\"0.55\" stroke=\"\(color)\" data-fold=\"\(v.fold)\" data-value=\"\(Fmt.exact(v.value))\"><title>fold \(v.fold): \(Fmt.f4(v.value))</title></circle>"
            }
        }
        s += "</svg></figure>"
        return s
    }
}
