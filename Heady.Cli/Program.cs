using Heady.Cli;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true; // stop cleanly: state is saved per file, the next run resumes
    cancel.Cancel();
};
return await HeadyApp.Create().RunAsync(args, cancel.Token);
