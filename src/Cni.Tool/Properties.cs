using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Cni.Runtime.Tests")]
