import NN

/// Scores of a regression task over a part: what a sentiment-intensity or score task reports.
/// Pearson's r is the main metric (higher is better, as `--select` needs); RMSE and MAE are in
/// the target's own unit.
public struct RegressionReport: Sendable, Codable, Equatable {
    public var count: Int
    public var mse: Double, rmse: Double, mae: Double
    /// Pearson's r and Spearman's ρ (ranks averaged over ties, as scipy's `spearmanr`); 0 when
    /// either side is constant.
    public var pearson: Double, spearman: Double

    public func table() -> String {
        func f(_ x: Double) -> String { String(format: "%.4f", x) }
        return "n=\(count) pearson=\(f(pearson)) spearman=\(f(spearman)) rmse=\(f(rmse)) mae=\(f(mae)) mse=\(f(mse))\n"
    }
}

/// Gold and predicted values of a regression task, kept to compute the rank correlation.
public struct RegressionMetrics: Sendable {
    private(set) var gold: [Double] = []
    private(set) var predicted: [Double] = []

    public init() {}

    public mutating func add(gold g: Float, predicted p: Float) { gold.append(Double(g)); predicted.append(Double(p)) }

    public func report() -> RegressionReport {
        let n = gold.count
        guard n > 0 else { return RegressionReport(count: 0, mse: 0, rmse: 0, mae: 0, pearson: 0, spearman: 0) }
        var se = 0.0, ae = 0.0
        for (g, p) in zip(gold, predicted) { se += (g - p) * (g - p); ae += abs(g - p) }
        let mse = se / Double(n)
        return RegressionReport(count: n, mse: mse, rmse: mse.squareRoot(), mae: ae / Double(n),
                                pearson: Self.pearson(gold, predicted), spearman: Self.pearson(Self.ranks(gold), Self.ranks(predicted)))
    }

    static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        let n = Double(x.count)
        guard n > 1 else { return 0 }
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(x, y) { sxy += (a - mx) * (b - my); sxx += (a - mx) * (a - mx); syy += (b - my) * (b - my) }
        guard sxx > 0, syy > 0 else { return 0 }
        return sxy / (sxx * syy).squareRoot()
    }

    /// 1-based ranks, ties sharing their average rank.
    static func ranks(_ x: [Double]) -> [Double] {
        let order = x.indices.sorted { x[$0] < x[$1] }
        var r = [Double](repeating: 0, count: x.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && x[order[j + 1]] == x[order[i]] { j += 1 }
            let average = Double(i + j) / 2 + 1
            for k in i...j { r[order[k]] = average }
            i = j + 1
        }
        return r
    }
}
