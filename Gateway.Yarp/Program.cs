using Gateway.Yarp;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddGatewayServices();

var app = builder.Build();
app.UseEdge();
app.MapDefaultEndpoints();
app.MapGatewayRoutes();
app.Run();
