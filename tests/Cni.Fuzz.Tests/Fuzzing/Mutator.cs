using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Cni.Fuzz.Tests.Fuzzing;

/// <summary>
/// A deterministic, seeded mutator: from a corpus of valid inputs it makes inputs that are almost valid, which is
/// where parsers break. Byte mutations (flips, interesting bytes, insertions, deletions, truncation, splices with
/// other seeds, invalid UTF-8, NUL) and, when the input is JSON, structural ones (a value of another type, huge or
/// fractional numbers, very long strings, strings with control characters and lone surrogates, deep nesting, a key
/// repeated in other letter cases, keys removed or renamed, values borrowed from other seeds).
/// </summary>
internal sealed class Mutator
{
    private readonly Random _random;
    private readonly IReadOnlyList<byte[]> _corpus;
    private readonly string[] _dictionary;

    /// <param name="seed">The random seed: the same seed gives the same inputs.</param>
    /// <param name="corpus">Valid inputs to start from and splice with.</param>
    /// <param name="dictionary">Words worth inserting (keys, versions, addresses) besides the built-in ones.</param>
    public Mutator(int seed, IReadOnlyList<byte[]> corpus, IEnumerable<string>? dictionary = null)
    {
        if (corpus.Count == 0)
            throw new ArgumentException("the corpus is empty", nameof(corpus));
        _random = new Random(seed);
        _corpus = corpus;
        _dictionary = [.. BuiltInWords, .. dictionary ?? []];
    }

    private static readonly string[] BuiltInWords =
    [
        "cniVersion", "name", "type", "ipam", "dns", "prevResult", "runtimeConfig", "args", "capabilities", "plugins",
        "ips", "interfaces", "routes", "address", "gateway", "interface", "dst", "gw", "mtu", "version", "ip4", "ip6",
        "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0", "2.0.0", "", "-1", "4294967296", "1e999",
        "10.0.0.1", "10.0.0.1/24", "10.0.0.1/33", "::1", "::/0", "fe80::1%eth0", "256.0.0.1", "::ffff:1.2.3.4/128",
        "0.0.0.0/0", "1.2.3.4/-1", "1.2.3", "0x7f.1", "\u0000", "\\u0000", "\\ud800", "\u00ff", "null", "true",
    ];

    private static readonly byte[] InterestingBytes = [0, 0xff, 0x7f, 0x80, 0xc0, 0xed, (byte)'"', (byte)'\\', (byte)'{', (byte)'}',
        (byte)'[', (byte)']', (byte)',', (byte)':', (byte)'0', (byte)'-', (byte)'e', (byte)'.', (byte)'/', (byte)';', (byte)'=', (byte)' ', (byte)'\n'];

    private static readonly byte[][] InvalidUtf8 = [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xc0, 0xaf]];

    /// <summary>The next input: a seed with one to four mutations stacked.</summary>
    public byte[] Next()
    {
        byte[] input = _corpus[_random.Next(_corpus.Count)];
        int rounds = 1 + _random.Next(4);
        for (int i = 0; i < rounds; i++)
            input = _random.Next(2) == 0 ? MutateJson(input) ?? MutateBytes(input) : MutateBytes(input);
        return input;
    }

    /// <summary>A random choice among <paramref name="items"/>.</summary>
    public T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

    /// <summary>A random number in [0, <paramref name="max"/>).</summary>
    public int Next(int max) => _random.Next(max);

    /// <summary>A mutation of a short text (an environment variable): byte mutations of its UTF-8, read back as text.</summary>
    public string MutateText(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        int rounds = 1 + _random.Next(3);
        for (int i = 0; i < rounds; i++)
            bytes = MutateBytes(bytes);
        return Encoding.UTF8.GetString(bytes);
    }

    private byte[] MutateBytes(byte[] input)
    {
        var data = new List<byte>(input);
        switch (_random.Next(11))
        {
            case 0 when data.Count > 0:
                data[_random.Next(data.Count)] ^= (byte)(1 << _random.Next(8));
                break;
            case 1 when data.Count > 0:
                data[_random.Next(data.Count)] = InterestingBytes[_random.Next(InterestingBytes.Length)];
                break;
            case 2:
                data.Insert(_random.Next(data.Count + 1), InterestingBytes[_random.Next(InterestingBytes.Length)]);
                break;
            case 3 when data.Count > 0:
            {
                int start = _random.Next(data.Count);
                data.RemoveRange(start, Math.Min(data.Count - start, 1 + _random.Next(16)));
                break;
            }
            case 4:
                return Truncate(input);
            case 5 when data.Count > 0:
            {
                // Repeat a stretch: duplicated keys, elements, brackets.
                int start = _random.Next(data.Count);
                int length = Math.Min(data.Count - start, 1 + _random.Next(64));
                data.InsertRange(start, data.GetRange(start, length));
                break;
            }
            case 6:
            {
                // Splice: the head of this input, the tail of another seed.
                byte[] other = _corpus[_random.Next(_corpus.Count)];
                int cut = _random.Next(data.Count + 1);
                int from = _random.Next(other.Length + 1);
                data.RemoveRange(cut, data.Count - cut);
                data.AddRange(other.AsSpan(from).ToArray());
                break;
            }
            case 7:
                data.InsertRange(_random.Next(data.Count + 1), InvalidUtf8[_random.Next(InvalidUtf8.Length)]);
                break;
            case 8:
                data.InsertRange(_random.Next(data.Count + 1), Encoding.UTF8.GetBytes(_dictionary[_random.Next(_dictionary.Length)]));
                break;
            case 9 when data.Count > 0:
            {
                // Replace a digit run with an extreme number.
                int at = _random.Next(data.Count);
                int end = at;
                while (end < data.Count && data[end] is >= (byte)'0' and <= (byte)'9')
                    end++;
                data.RemoveRange(at, end - at);
                data.InsertRange(at, Encoding.UTF8.GetBytes(ExtremeNumber()));
                break;
            }
            default:
            {
                // Deep nesting at a random place.
                int depth = 1 + _random.Next(300);
                bool array = _random.Next(2) == 0;
                string open = array ? "[" : "{\"a\":";
                string close = array ? "]" : "}";
                data.InsertRange(_random.Next(data.Count + 1), Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(open, depth)) + "1" + string.Concat(Enumerable.Repeat(close, depth))));
                break;
            }
        }
        return [.. data];
    }

    private byte[] Truncate(byte[] input) => input.AsSpan(0, input.Length == 0 ? 0 : _random.Next(input.Length)).ToArray();

    private string ExtremeNumber() => _random.Next(14) switch
    {
        0 => "-1",
        1 => "0",
        2 => "2147483647",
        3 => "2147483648",
        4 => "-2147483649",
        5 => "4294967296",
        6 => "9223372036854775808",
        7 => "1e400",
        8 => "-0",
        9 => "0.5",
        10 => "1E2",
        11 => "65536",
        12 => "4095",
        _ => new string('9', 1 + _random.Next(400)),
    };

    // ---------------------------------------------------------------------------------------------------------
    // JSON-aware mutations
    // ---------------------------------------------------------------------------------------------------------

    private byte[]? MutateJson(byte[] input)
    {
        try
        {
            return MutateJsonTree(input);
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or InvalidOperationException)
        {
            return null; // not JSON the node model takes (duplicate keys, invalid UTF-8 in a string): bytes only
        }
    }

    private byte[]? MutateJsonTree(byte[] input)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(input);
            if (root is JsonObject o)
                _ = o.Count; // materializes the object: duplicate keys fail here, not later
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or InvalidOperationException)
        {
            return null;
        }
        if (root is null)
            return null;

        int choice = _random.Next(5);
        if (choice == 0)
            return DuplicateKey(input);
        var containers = new List<JsonNode>();
        Collect(root, containers);
        if (containers.Count == 0)
            return null;
        JsonNode target = containers[_random.Next(containers.Count)];
        switch (target)
        {
            case JsonObject obj when obj.Count > 0:
            {
                string key = obj.ElementAt(_random.Next(obj.Count)).Key;
                switch (_random.Next(4))
                {
                    case 0:
                        obj.Remove(key);
                        break;
                    case 1:
                    {
                        JsonNode? value = obj[key];
                        obj.Remove(key);
                        string renamed = RenameKey(key);
                        if (!obj.ContainsKey(renamed))
                            obj[renamed] = value;
                        break;
                    }
                    default:
                        obj[key] = NewValue(obj[key]);
                        break;
                }
                break;
            }
            case JsonObject obj:
                obj[_dictionary[_random.Next(_dictionary.Length)]] = NewValue(null);
                break;
            case JsonArray arr when arr.Count > 0:
            {
                int index = _random.Next(arr.Count);
                switch (_random.Next(3))
                {
                    case 0:
                        arr.RemoveAt(index);
                        break;
                    case 1:
                        arr.Add(arr[index]?.DeepClone());
                        break;
                    default:
                        arr[index] = NewValue(arr[index]);
                        break;
                }
                break;
            }
            case JsonArray arr:
                arr.Add(NewValue(null));
                break;
        }
        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }

    private static void Collect(JsonNode node, List<JsonNode> containers)
    {
        if (node is JsonObject obj)
        {
            containers.Add(obj);
            foreach (KeyValuePair<string, JsonNode?> p in obj)
            {
                if (p.Value is not null)
                    Collect(p.Value, containers);
            }
        }
        else if (node is JsonArray arr)
        {
            containers.Add(arr);
            foreach (JsonNode? item in arr)
            {
                if (item is not null)
                    Collect(item, containers);
            }
        }
    }

    private string RenameKey(string key) => _random.Next(4) switch
    {
        0 => key.ToUpperInvariant(),
        1 => key.Length > 0 ? char.ToUpperInvariant(key[0]) + key[1..] : "X",
        2 => key.Replace('s', '\u017f'), // Go's case folding maps the long s onto s
        _ => key + "_",
    };

    /// <summary>A value replacing <paramref name="old"/>: another type, an extreme value, or one borrowed from elsewhere.</summary>
    private JsonNode? NewValue(JsonNode? old)
    {
        switch (_random.Next(14))
        {
            case 0: return null;
            case 1: return JsonValue.Create(_random.Next(2) == 0);
            case 2: return JsonNode.Parse(ExtremeNumber());
            case 3: return JsonValue.Create(_dictionary[_random.Next(_dictionary.Length)]);
            case 4: return JsonValue.Create(new string((char)('a' + _random.Next(26)), 1 + _random.Next(70000)));
            case 5: return JsonValue.Create("a\u0000b\u0001\t\n\"\\");
            case 6: return JsonValue.Create("x\ud800y"); // a lone surrogate, written as an escape
            case 7: return new JsonObject();
            case 8: return new JsonArray();
            case 9: return new JsonArray(old?.DeepClone(), old?.DeepClone());
            case 10:
            {
                JsonNode nested = JsonValue.Create(1);
                int depth = 1 + _random.Next(80);
                for (int i = 0; i < depth; i++)
                    nested = _random.Next(2) == 0 ? new JsonArray(nested) : new JsonObject { ["k"] = nested };
                return nested;
            }
            case 11:
                return old is JsonValue v && v.GetValueKind() == JsonValueKind.String
                    ? JsonValue.Create(MutateText(v.GetValue<string>()))
                    : JsonValue.Create(MutateText(old?.ToJsonString() ?? ""));
            case 12:
                return BorrowedValue();
            default:
                return old is JsonValue n && n.GetValueKind() == JsonValueKind.Number ? JsonNode.Parse(ExtremeNumber()) : JsonValue.Create(ExtremeNumber());
        }
    }

    /// <summary>Some value of another seed (an address where a route was, a result where a string was).</summary>
    private JsonNode? BorrowedValue()
    {
        try
        {
            JsonNode? other = JsonNode.Parse(_corpus[_random.Next(_corpus.Count)]);
            if (other is null)
                return null;
            var all = new List<JsonNode>();
            CollectAll(other, all);
            return all[_random.Next(all.Count)].DeepClone();
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }

    private static void CollectAll(JsonNode node, List<JsonNode> all)
    {
        all.Add(node);
        if (node is JsonObject obj)
        {
            foreach (KeyValuePair<string, JsonNode?> p in obj)
            {
                if (p.Value is not null)
                    CollectAll(p.Value, all);
            }
        }
        else if (node is JsonArray arr)
        {
            foreach (JsonNode? item in arr)
            {
                if (item is not null)
                    CollectAll(item, all);
            }
        }
    }

    /// <summary>Writes a key of the input once more, just before itself, in another letter case or the same, with another value.</summary>
    private byte[] DuplicateKey(byte[] input)
    {
        var keys = new List<(int Start, string Key)>();
        var reader = new Utf8JsonReader(input);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName)
                    keys.Add(((int)reader.TokenStartIndex, reader.GetString()!));
            }
        }
        catch (JsonException)
        {
            return input;
        }
        if (keys.Count == 0)
            return input;
        (int start, string key) = keys[_random.Next(keys.Count)];
        string name = _random.Next(2) == 0 ? key : RenameKey(key);
        string value = NewValue(null)?.ToJsonString() ?? "null";
        byte[] insert = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(name, FuzzJsonContext.Default.String) + ":" + value + ",");
        return [.. input.AsSpan(0, start), .. insert, .. input.AsSpan(start)];
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class FuzzJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
