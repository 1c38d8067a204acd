using HeadyClouds.CertificateAuthority;
using HeadyClouds.CertificateAuthority.Apis;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddCertificateAuthorityServices();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapEnrollmentApi();
app.MapOperatorApi();
app.Run();
