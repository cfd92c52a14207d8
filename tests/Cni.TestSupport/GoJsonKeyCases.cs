using NUnit.Framework;

namespace Cni.TestSupport;

/// <summary>
/// Top-level configuration keys as Go's encoding/json decodes them into a struct (the reference's skel and host-local):
/// keys match field names case-insensitively (Unicode simple folding: 'ſ' is an 's'), each matching key in document
/// order sets the field so the last one wins, and JSON null leaves a string field as it was.
/// </summary>
public static class GoJsonKeyCases
{
    /// <summary>Configuration (each has <c>"type":"fake"</c> and an <c>ipam</c> section) and the name and cniVersion Go
    /// decodes from it.</summary>
    public static IEnumerable<TestCaseData> NameAndVersion()
    {
        static TestCaseData Case(string keys, string name, string version) =>
            new TestCaseData("{" + keys + ""","type":"fake","ipam":{"type":"host-local","subnet":"10.9.0.0/24"}}""", name, version).SetArgDisplayNames(keys);
        yield return Case("""  "cniVersion":"1.0.0","name":"a" """, "a", "1.0.0");
        yield return Case("""  "CNIVersion":"1.0.0","Name":"a" """, "a", "1.0.0");
        yield return Case("""  "cniversion":"1.0.0","NAME":"a" """, "a", "1.0.0");
        yield return Case("""  "cniVersion":"1.0.0","name":"a","NAME":"b" """, "b", "1.0.0");
        yield return Case("""  "cniVersion":"1.0.0","NAME":"b","name":"a" """, "a", "1.0.0");
        yield return Case("""  "cniVersion":"1.0.0","name":"a","name":"b" """, "b", "1.0.0");
        yield return Case("""  "cniVersion":"1.0.0","name":"a","Name":null """, "a", "1.0.0");
        yield return Case("""  "cniVersion":"0.4.0","name":"a","CniVersion":"1.0.0" """, "a", "1.0.0");
        yield return Case("""  "cniVerſion":"1.0.0","name":"a" """, "a", "1.0.0");
        yield return Case("""  "cniVersion":"1.0.0","CNIVERSION":null,"nAmE":"c" """, "c", "1.0.0");
    }
}
