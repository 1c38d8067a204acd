using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace HeadyMe.Sync.Infrastructure.Migrations
{
    /// <inheritdoc />
    public partial class UserQuotas : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "user_quotas",
                columns: table => new
                {
                    user_id = table.Column<Guid>(type: "uuid", nullable: false),
                    limit_bytes = table.Column<long>(type: "bigint", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_by = table.Column<Guid>(type: "uuid", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_user_quotas", x => x.user_id);
                    table.CheckConstraint("ck_user_quotas_limit_bytes", "limit_bytes >= 0");
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "user_quotas");
        }
    }
}
