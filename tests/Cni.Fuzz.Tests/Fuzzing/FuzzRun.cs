using System.Diagnostics;
using System.Text;

namespace Cni.Fuzz.Tests.Fuzzing;

/// <summary>
/// Runs one fuzz target: every seed as is, then mutated inputs, each through <c>body</c>. An exception the target
/// documents (<c>isDocumented</c>) is a rejection; any other exception, or an input that does not finish within
/// <see cref="HangTimeout"/>, is a crash, reported with the input so that it can become a regression test.
/// </summary>
internal static class FuzzRun
{
    /// <summary>The environment variable that sets the number of mutated inputs per target (a long run: 1000000).</summary>
    public const string IterationsVariable = "CNI_FUZZ_ITERATIONS";

    /// <summary>The environment variable that sets the seed (default: fixed, so every run checks the same inputs).</summary>
    public const string SeedVariable = "CNI_FUZZ_SEED";

    /// <summary>How long one input may take before it counts as a hang.</summary>
    public static readonly TimeSpan HangTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Mutated inputs per target: <paramref name="defaultCount"/> unless <see cref="IterationsVariable"/> is set.</summary>
    public static int Iterations(int defaultCount) =>
        int.TryParse(Environment.GetEnvironmentVariable(IterationsVariable), out int n) && n > 0 ? n : defaultCount;

    /// <summary>The seed of a target: <see cref="SeedVariable"/> mixed with the target's name, or a fixed default.</summary>
    public static int Seed(string target)
    {
        int baseSeed = int.TryParse(Environment.GetEnvironmentVariable(SeedVariable), out int s) ? s : 20261205;
        int hash = 17;
        foreach (char c in target)
            hash = unchecked(hash * 31 + c);
        return unchecked(baseSeed ^ hash);
    }

    /// <summary>What the body of the running target says about the current input besides its bytes (shown with a crash or a hang).</summary>
    /// <remarks>Static, not per thread: the watchdog reads it (the fuzz tests do not run in parallel).</remarks>
    private static volatile string? s_note;

    /// <summary>Records what else the current input consists of (a second reply, the operation chosen).</summary>
    public static void Note(string note) => s_note = note;

    /// <summary>What a run saw.</summary>
    public sealed record Outcome(int Inputs, int Accepted, int Rejected, TimeSpan Elapsed);

    /// <summary>
    /// Runs <paramref name="body"/> on every seed of <paramref name="corpus"/> and then on <paramref name="iterations"/>
    /// mutated inputs; fails the test listing the distinct crashes (exception type and throwing method) with an input each.
    /// </summary>
    /// <param name="target">The target's name (also seeds the mutator).</param>
    /// <param name="corpus">Valid inputs.</param>
    /// <param name="body">Runs the target; returns normally when the input was accepted.</param>
    /// <param name="isDocumented">Whether an exception is the target's documented way of refusing an input.</param>
    /// <param name="iterations">Mutated inputs (default: <see cref="Iterations"/> of 8000).</param>
    /// <param name="dictionary">Extra words for the mutator.</param>
    public static Outcome Run(string target, IReadOnlyList<byte[]> corpus, Action<byte[], Mutator> body, Func<Exception, bool> isDocumented,
        int? iterations = null, IEnumerable<string>? dictionary = null)
    {
        int count = iterations ?? Iterations(8000);
        var mutator = new Mutator(Seed(target), corpus, dictionary);
        var crashes = new Dictionary<string, (Exception Error, byte[] Input, string? Note)>();
        int accepted = 0, rejected = 0, done = 0;
        byte[] current = [];
        long currentStarted = 0;
        Exception? harnessError = null;
        var stopwatch = Stopwatch.StartNew();

        // A thread of its own with a large stack: a watchdog can then report a hang with the input in hand.
        var worker = new Thread(() =>
        {
            try
            {
                for (int i = 0; i < corpus.Count + count; i++)
                {
                    byte[] input = i < corpus.Count ? corpus[i] : mutator.Next();
                    Volatile.Write(ref current, input);
                    Volatile.Write(ref currentStarted, stopwatch.ElapsedTicks);
                    s_note = null;
                    try
                    {
                        body(input, mutator);
                        accepted++;
                    }
                    catch (Exception ex) when (isDocumented(ex))
                    {
                        rejected++;
                    }
                    catch (Exception ex)
                    {
                        string key = CrashKey(ex);
                        if (!crashes.ContainsKey(key) || crashes[key].Input.Length > input.Length)
                            crashes[key] = (ex, input, s_note);
                    }
                    Volatile.Write(ref done, i + 1);
                }
            }
            catch (Exception ex)
            {
                harnessError = ex;
            }
        }, 64 * 1024 * 1024)
        { IsBackground = true, Name = "fuzz " + target };
        worker.Start();
        while (!worker.Join(TimeSpan.FromMilliseconds(200)))
        {
            TimeSpan running = TimeSpan.FromTicks((long)((stopwatch.ElapsedTicks - Volatile.Read(ref currentStarted)) * (TimeSpan.TicksPerSecond / (double)Stopwatch.Frequency)));
            if (running > HangTimeout)
                Assert.Fail($"{target}: input {Volatile.Read(ref done)} has not finished after {running.TotalSeconds:F0} s (a hang):\n{Describe(Volatile.Read(ref current))}\nnote: {s_note}");
        }
        if (harnessError is not null)
            throw new InvalidOperationException($"{target}: the fuzz harness itself failed", harnessError);

        var outcome = new Outcome(corpus.Count + count, accepted, rejected, stopwatch.Elapsed);
        TestContext.Out.WriteLine($"{target}: {outcome.Inputs} inputs ({corpus.Count} seeds), {accepted} accepted, {rejected} rejected, {crashes.Count} crash kinds, {outcome.Elapsed.TotalSeconds:F1} s");
        if (crashes.Count > 0)
        {
            var report = new StringBuilder($"{target}: {crashes.Count} kind(s) of crash (an undocumented exception):\n");
            foreach ((string key, (Exception error, byte[] input, string? note)) in crashes)
                report.Append($"--- {key}\n{error}\ninput:\n{Describe(input)}\n{(note is null ? "" : "note: " + note + "\n")}");
            Assert.Fail(report.ToString());
        }
        return outcome;
    }

    /// <summary>The exception type and the method that threw it: one entry per distinct bug, not per input.</summary>
    private static string CrashKey(Exception ex)
    {
        string? frame = new StackTrace(ex, false).GetFrames().FirstOrDefault(f => f.GetMethod()?.DeclaringType?.Namespace?.StartsWith("Cni.", StringComparison.Ordinal) == true)?.GetMethod() is { } m
            ? $"{m.DeclaringType?.Name}.{m.Name}"
            : ex.TargetSite?.Name;
        return $"{ex.GetType().Name} in {frame}";
    }

    /// <summary>An input as text when it is printable UTF-8, with its base64 always (for pasting into a regression test).</summary>
    public static string Describe(byte[] input)
    {
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(input);
        }
        catch (DecoderFallbackException)
        {
            text = "(not UTF-8)";
        }
        if (text.Length > 2000)
            text = text[..2000] + $"... ({input.Length} bytes)";
        string base64 = Convert.ToBase64String(input);
        if (base64.Length > 4000)
            base64 = base64[..4000] + "...";
        return $"text: {text}\nbase64: {base64}";
    }
}
